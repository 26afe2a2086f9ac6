// Chunks whose workflow ended without reporting (an operator terminated it): found now and then by
// the main loop, or by the chunk's own result; their batch is cancelled and their rows recorded.
import { log } from '@temporalio/workflow';
import { NO_RECORDS } from '../empty-chunk-result.ts';
import type { JobRun } from './job-run.ts';

/** Records, as failed, every active chunk whose workflow has ended without reporting. */
export async function recoverEndedChunks(run: JobRun): Promise<void> {
  const ids = run.activeIds;
  if (ids.length === 0) return;
  const ended = await run.job.act.findEndedChunks.executeWithOptions({ summary: `check that ${ids.length} chunk workflow(s) still run` }, [{ workflowIds: ids }]);
  for (const { workflowId, status } of ended) {
    await recordLostChunk(run, workflowId, `chunk workflow ${workflowId} ended (${status}) without reporting its result`);
  }
}

/**
 * A chunk workflow ended without its report: cancel its batch, so that nothing bills unwatched,
 * and record its rows as failed with the reason, so that each still gets its line in results.jsonl.
 */
export async function recordLostChunk(run: JobRun, workflowId: string, reason: string): Promise<void> {
  const { state: s, job } = run;
  const progress = s.active[workflowId];
  if (!progress) return;
  log.warn('a chunk workflow ended without reporting', { workflowId, reason });
  const planned = progress.round === s.round ? s.plan.chunks.find((c) => c.index === progress.index) : undefined;
  const chunkUri = s.chunkUris?.[workflowId] ?? planned?.uri;
  if (progress.batchId) {
    const batchId = progress.batchId;
    await job.act.cancelBatch
      .executeWithOptions({ summary: `cancel batch ${batchId} of ended chunk ${workflowId}` }, [{ batchId }])
      .catch((err: unknown) => log.warn('could not cancel the batch of an ended chunk', { workflowId, batchId, error: String(err) }));
  }
  const outcome = chunkUri
    ? await job.act.collectChunk.executeWithOptions({ summary: `record the rows of ended chunk ${workflowId} as failed` }, [{
      jobId: job.jobId, round: progress.round, chunkIndex: progress.index, chunkUri, endpoint: job.input.endpoint, batchId: progress.batchId ?? '',
      end: 'failed', batchErrors: [{ code: 'chunk_ended', message: reason }],
    }])
    : NO_RECORDS;
  // Its own report may have arrived meanwhile: that one counts.
  if (!s.active[workflowId]) return;
  run.record({ round: progress.round, index: progress.index, end: 'failed', batchIds: progress.batchId ? [progress.batchId] : [], estimatedCostUsd: planned?.estimatedCostUsd ?? 0, reason, ...outcome });
}
