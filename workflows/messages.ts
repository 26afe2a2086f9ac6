import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { ChunkProgress, ChunkResult, JobProgress } from './job-types.ts';

/** The job's progress as JSON (the same facts as its Markdown current details). */
export const progressQuery = defineQuery<JobProgress>('progress');

/** A chunk workflow's live state. */
export const chunkProgressQuery = defineQuery<ChunkProgress>('chunkProgress');

/** Sent by a chunk workflow to its job at each progress refresh. */
export const chunkProgressSignal = defineSignal<[ChunkProgress]>('chunkProgress');

/**
 * Sent by a chunk workflow to its job when it ends. The job learns of its children by signal, by
 * workflow id, so that children started before a continue-as-new still reach the new run.
 */
export const chunkDoneSignal = defineSignal<[ChunkResult]>('chunkDone');
