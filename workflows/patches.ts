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
 * A chunk that fails (not cancelled) with a batch known cancels it and collects the rows OpenAI
 * finished before it reports. Older: histories recorded before 2026-12-01 report `failed` rows and
 * leave the batch running.
 */
export const CANCEL_BATCH_ON_FAILURE = 'cancel-batch-on-failure';

/**
 * A chunk whose cancel path fails (a 401, 404 or 400 on cancel) still records its rows and sends its
 * done signal. Older: histories recorded before 2026-12-01 fail there without reporting.
 */
export const REPORT_WHEN_CANCEL_FAILS = 'report-when-cancel-fails';

/**
 * A chunk cancelled just as it ended sends its done signal from a non-cancellable scope (a signal
 * from a cancelled scope is dropped). Older: histories recorded before 2026-12-01.
 */
export const DONE_SIGNAL_UNCANCELLABLE = 'done-signal-uncancellable';

/**
 * `token_limit_exceeded` resubmits at most `maxTokenLimitRetries` times, after a jittered backoff,
 * continuing as new in that loop when the history is long. Older: histories recorded before
 * 2026-12-01 (token-limit-*) resubmit forever after a fixed backoff.
 */
export const TOKEN_LIMIT_RETRIES = 'token-limit-retries';

/**
 * A resubmission uploads the chunk again when its input file may have expired at OpenAI (upload
 * time + file TTL). Older: histories recorded before 2026-12-01 reuse the first file.
 */
export const REUPLOAD_EXPIRED_INPUT = 'reupload-expired-input';

/**
 * The chunk waits for a cancelled `createBatch` to settle (WAIT_CANCELLATION_COMPLETED) and
 * cancels the batch it made; a create that ends unsettled is searched for after its attempts can
 * no longer land; searches stop at the key's first try, not the job's start. Older: histories
 * recorded before 2026-12-01 (all of test/replay/histories) use the TRY_CANCEL create.
 */
export const CREATE_BATCH_SETTLES = 'create-batch-settles';

/**
 * A cancel that lands while the job records a skipped chunk leaves that chunk to the cancel branch
 * (recorded as cancelled) instead of dropping it. Older: every history recorded before 2026-12.
 */
export const SKIP_SURVIVES_CANCEL = 'skip-survives-cancel';

/**
 * A cancelled job keeps checking for chunk workflows that ended without reporting while it waits
 * for its chunks, instead of waiting on their reports alone. Older: every history recorded before 2026-12.
 */
export const CANCEL_RECOVERS_ENDED_CHUNKS = 'cancel-recovers-ended-chunks';

/**
 * Recovery of a chunk that ended without reporting waits for its cancelled batch to end and
 * collects what the batch finished, into records of its own. Older: every history recorded before 2026-12.
 */
export const LOST_CHUNK_COLLECTS_BATCH = 'lost-chunk-collects-batch';

/**
 * Finalize runs in a non-cancellable scope: a cancel during finalize no longer starts a second
 * finalize that races the first. Older: every history recorded before 2026-12.
 */
export const FINALIZE_ONCE = 'finalize-once';

/**
 * A step of lost-chunk recovery that fails for good (waiting for its batch, collecting its rows) is
 * logged and the chunk recorded with what is known, instead of failing the job. Checked only when
 * such a step fails. Older: every history recorded before 2026-12-01.
 */
export const RECOVERY_NEVER_FAILS_JOB = 'recovery-never-fails-job';

/**
 * A chunk cancelled after its upload but before any batch deletes its input file at OpenAI instead
 * of leaving it until its TTL. Older: every history recorded before 2026-12-01.
 */
export const DELETE_UNSUBMITTED_INPUT = 'delete-unsubmitted-input';

/**
 * Every way a job ends leaves its status search attribute true: a job cancelled or failed before
 * planning ended, or failed after it, sets `cancelled` or `failed`; a job cut by its deadline sets
 * `deadline_exceeded`, not `completed`. Older: every history recorded before 2026-12-02.
 */
export const STATUS_ON_EVERY_END = 'status-on-every-end';

/**
 * A chunk's progress report that moves the job's percent also upserts the progress search
 * attribute (what `list` shows), not only the current details. Older: every history recorded
 * before 2026-12-02.
 */
export const PUBLISH_PROGRESS_ON_CHUNK_PROGRESS = 'publish-progress-on-chunk-progress';

/**
 * A cancelled job re-sends the cancel to chunks still running at each check and, after a grace
 * period, terminates them and recovers their rows (batch cancelled and collected). Older: every
 * history recorded before 2026-12-02 waits for such a chunk without limit.
 */
export const CANCEL_TERMINATES_STUCK_CHUNKS = 'cancel-terminates-stuck-chunks';

/**
 * A chunk forgets its failed (token_limit_exceeded) batch before the backoff, so that a cancel
 * during the backoff records its rows as cancelled / not_submitted instead of failed. Older: every
 * history recorded before 2026-12-02.
 */
export const CANCEL_IN_BACKOFF_NOT_SUBMITTED = 'cancel-in-backoff-not-submitted';

/**
 * Recovery of a chunk that ended without reporting a batch looks the chunk's batches up at OpenAI
 * by their idempotency keys (a batch created after its last progress report) before recording its
 * rows as failed. Older: every history recorded before 2026-12-02.
 */
export const LOST_CHUNK_FINDS_BATCH = 'lost-chunk-finds-batch';

/**
 * Recovery waits for an ended chunk's cancelled batch a bounded number of times (at least an hour)
 * and then records the rows with what is known, so the job's history stays bounded. Checked only
 * at the bound. Older: every history recorded before 2026-12-02.
 */
export const LOST_CHUNK_WAIT_BOUNDED = 'lost-chunk-wait-bounded';

/**
 * A chunk's wait ends at once on a webhook's `batchEnded` signal (the receiver's hint): the wait
 * activity is cancelled and the batch polled at once to confirm. Checked only when such a signal
 * arrives. Older: every history recorded before 2026-12-02 (none has the signal).
 */
export const WEBHOOK_WAKES_WAIT = 'webhook-wakes-wait';

/**
 * A chunk the job is about to start when a cancel has already reached it (in the same workflow
 * task as a chunk's report) is given back to the cancel branch, which records it as cancelled,
 * instead of being counted as running (the SDK's startChild issues no command in a cancelled
 * scope). Checked only in that case. Older: every history recorded before 2026-12-02.
 */
export const NO_LAUNCH_AFTER_CANCEL = 'no-launch-after-cancel';

/**
 * A webhook's wake confirms with a wait of its own: the batch polled at once, then up to
 * WAKE_QUICK_POLLS more times `minPollMs` apart, before the stretched schedule resumes (a hint
 * can come before `retrieve` shows the end); another hint for the batch while that wait runs
 * is not a new wake. A chunk with `wait.webhooks` bounds its wait activity by the stretched
 * refresh. Older: every history recorded before 2026-12-02 (v2-webhook-wake re-polls on each hint).
 */
export const WEBHOOK_WAKE_CONFIRMS = 'webhook-wake-confirms';

/**
 * The job keeps its chunk results in storage (`chunk-results/p<n>.jsonl`, 100 at a time, each
 * part written once) and its round's chunk list too (read 200 at a time), so that its state, its
 * continue-as-new input, its finalize input and its summary stay small whatever the chunk count.
 * Decided once, at planning: a job planned before it keeps its whole lists in state to the end.
 * Older: every history recorded before 2026-12-02.
 */
export const RESULTS_IN_STORAGE = 'results-in-storage';

/**
 * A job that keeps its results in storage wakes more cheaply: one timer for "no chunk reported
 * for a while" is kept across the main loop's wakes (instead of a timer on every wait), and the
 * search attributes are upserted only when their values change, at most every 5 s of workflow
 * time (a change of phase at once). The sliding window also stores results and continues as new
 * when due after each launch (while chunks end as fast as they start, it runs the round alone).
 * Checked only with results-in-storage. Older: every history recorded before 2026-12-02 00:30
 * (v2-results-in-storage among them).
 */
export const LEAN_JOB_WAKES = 'lean-job-wakes';

/**
 * A chunk that ended without reporting is recovered once at a time: its own result (rejected) and
 * the job's check for ended chunks both found it, and each cancelled, waited for and collected its
 * batch, one collect writing over the other's records. A check now skips a chunk whose recovery is
 * under way, and a second recovery of it returns. Older: every history recorded before 2026-12-02 05:00.
 */
export const LOST_CHUNK_RECOVERED_ONCE = 'lost-chunk-recovered-once';

/**
 * A resubmission after token_limit_exceeded tells whether the input file may have expired by the
 * `expires_at` OpenAI gave at the upload (the upload activity returns it), not by the upload time
 * plus the TTL asked for. Checked only on a resubmission whose upload result carries the expiry, so
 * a run whose workflow code decided without it replays as it ran. Older: every history recorded
 * before 2026-12-02 05:30.
 */
export const INPUT_EXPIRY_FROM_OPENAI = 'input-expiry-from-openai';

/**
 * A chunk that ended without reporting while its job was cancelling (the cancel branch terminated
 * it after the grace, e.g. stuck in a create that never settled), with no batch at OpenAI: its
 * rows were never submitted and are recorded `cancelled / not_submitted`, like every unsubmitted
 * row of a cancelled job, not `failed / chunk_ended`. Older: every history recorded before
 * 2026-12-02 06:15.
 */
export const CANCELLED_LOST_CHUNK_NOT_SUBMITTED = 'cancelled-lost-chunk-not-submitted';

/**
 * A cancelled job records its chunks that never started a part's worth (100) at a time, in one
 * `collectNotSubmitted` activity each, instead of one `collectChunk` per chunk: the cancel branch
 * never continues as new, and at six events per chunk a job of about 8,000 unstarted chunks would
 * have reached Temporal's history limit there. Older: every history recorded before 2026-12-03 07:15.
 */
export const CANCEL_SKIPS_IN_BULK = 'cancel-skips-in-bulk';

/**
 * A chunk that ended without reporting and has no batch at OpenAI (its lookup by key found none)
 * has its uploaded input deleted by name, as its own cancel path does for an unsubmitted chunk
 * (chaos seed 1 found one left, of a chunk terminated in its create during a cancel). An upload of
 * the terminated chunk that finishes after this lookup is not seen; that file expires with its
 * TTL. Older: every history recorded before 2026-12-03 11:30.
 */
export const LOST_CHUNK_DELETES_INPUT = 'lost-chunk-deletes-input';

/**
 * A job with its results in storage counts the stored parts whose retryable rows no round has taken
 * as one range of part numbers (`StoredResults.retryRange`), not one entry per part: its state, and
 * the retry round's activity input, no longer grow with the chunk count. Older: every history
 * recorded before 2026-12-03 15:00.
 */
export const RETRY_PARTS_AS_RANGE = 'retry-parts-as-range';

/**
 * A job that ran to its end with chunks whose rows no records file holds (their collect failed: a
 * chunk file deleted or unreadable while the job ran) fails after writing its report, naming the
 * first such chunk and why, instead of completing with those rows in no file and no count. Older:
 * every history recorded before 2026-12-06 23:00.
 */
export const UNRECORDED_ROWS_FAIL_JOB = 'unrecorded-rows-fail-job';

/**
 * A chunk never submitted (skipped for the budget or the deadline, or left by a cancel) whose rows
 * could not be recorded (its file unreadable after the step's retries) is recorded without records
 * instead of failing the job at once with no report: the job goes on and ends as
 * unrecorded-rows-fail-job says (a cancelled one still ends cancelled, its report naming the
 * chunks). Older: every history recorded before 2026-12-06 23:30.
 */
export const SKIP_FAILURE_IS_UNRECORDED = 'skip-failure-is-unrecorded';
