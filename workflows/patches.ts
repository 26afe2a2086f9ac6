// Every patch id the workflows use, in one place. A change to what a workflow does (the commands it
// issues, their order) goes behind `patched(ID)` so that running workflows, and the recorded
// histories in test/replay/histories/, keep replaying. Each entry says which histories predate it.
// Remove an entry (and its old branch) only once no running workflow can carry such a history.

/**
 * The job publishes a chunk's batch id in its search attributes as soon as the chunk reports it,
 * not only when the chunk ends. Older: every history recorded before 2026-11 (none now).
 */
export const PUBLISH_BATCH_IDS_ON_PROGRESS = 'publish-batch-ids-on-progress';

/**
 * The job checks now and then for chunk workflows that ended without reporting (terminated), and
 * records their rows. Older: histories recorded before 2026-11-22 wait on the done signal alone.
 */
export const RECOVER_ENDED_CHUNKS = 'recover-ended-chunks';

/**
 * The chunk waits for a cancelled `createBatch` to settle (WAIT_CANCELLATION_COMPLETED) and
 * cancels the batch it made; a create that ends unsettled is searched for after its attempts can
 * no longer land; searches stop at the key's first try, not the job's start. Older: histories
 * recorded before 2026-12-01 (all of test/replay/histories) use the TRY_CANCEL create.
 */
export const CREATE_BATCH_SETTLES = 'create-batch-settles';
