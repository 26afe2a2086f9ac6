import { rename, rm } from 'node:fs/promises';
import type { EmulatorConfig } from '../config.ts';
import { newBatchId, newFileId } from '../ids.ts';
import type { StateStore } from '../state/state-store.ts';
import type { BatchPlan, BatchRecord, FileRecord } from '../state/records.ts';
import { batchMoment, type BatchMoment } from './batch-timeline.ts';
import { batchObject } from './batch-object.ts';
import { validateInput } from './validate-input.ts';
import { azureDeploymentCheck } from '../providers/azure-deployments.ts';
import { writeResults } from './write-results.ts';

const THIRTY_DAYS = 30 * 24 * 3600;

export interface NewBatch {
  input_file_id: string;
  endpoint: string;
  completion_window: string;
  metadata: Record<string, string> | null;
  output_expires_after: { anchor: 'created_at'; seconds: number } | null;
  /** Azure fail-fast mode: the tokens the create was admitted with, counted until validation has its own. */
  enqueued?: { model: string; promptTokens: number };
}

/**
 * Owns the batches: creation, validation in the background, the views clients read, and writing
 * the result files once a batch's schedule reaches its end. The schedule itself is
 * {@link batchMoment}; this class only does the I/O the schedule calls for.
 */
export class BatchEngine {
  readonly #store: StateStore;
  readonly #config: () => EmulatorConfig;
  readonly #validations = new Map<string, Promise<void>>();
  readonly #finishing = new Map<string, Promise<void>>();
  #stopped = false;

  constructor(store: StateStore, config: () => EmulatorConfig) {
    this.#store = store;
    this.#config = config;
  }

  /** Picks up work a previous process left: unvalidated batches and unwritten results. */
  resume(): void {
    for (const record of this.#store.batches.values()) {
      if (!record.validation) this.#startValidation(record);
    }
    this.sweep();
  }

  /** Writes results for every batch whose time has come; called on a timer and on reads. */
  sweep(now = Date.now()): void {
    for (const record of this.#store.batches.values()) {
      if (!record.final) this.#momentFor(record, now);
    }
  }

  async create(input: NewBatch, inputFile: FileRecord): Promise<BatchRecord> {
    const config = this.#config();
    const plan: BatchPlan = {
      validatingMs: config.validatingSeconds * 1000,
      finalizingMs: config.finalizingSeconds * 1000,
      cancellingMs: config.cancellingSeconds * 1000,
      windowMs: config.completionWindowSeconds * 1000,
      rowsPerSecond: config.rowsPerSecond === 'instant' ? null : config.rowsPerSecond,
      rowErrors: { ...config.rowErrors },
      seed: config.seed,
      // Azure runs a batch past its 24 h window until it is done or cancelled.
      ...(config.provider === 'azure' ? { neverExpires: true } : {}),
    };
    const record: BatchRecord = {
      id: newBatchId(),
      seq: this.#store.nextSeq(),
      createdAtMs: Date.now(),
      ...input,
      plan,
      validation: null,
      cancelRequestedAtMs: null,
      final: null,
    };
    await this.#store.saveBatch(record);
    this.#startValidation(record, inputFile);
    return record;
  }

  /** The API object of a batch now (and the trigger for writing its results when they are due). */
  view(record: BatchRecord, now = Date.now()): Record<string, unknown> {
    return batchObject(record, this.#momentFor(record, now));
  }

  moment(record: BatchRecord, now = Date.now()): BatchMoment {
    return this.#momentFor(record, now);
  }

  async cancel(record: BatchRecord): Promise<BatchMoment> {
    const now = Date.now();
    // Judge by the schedule itself: a batch whose end has come cannot be cancelled, even while
    // its files are still being written.
    const scheduled = batchMoment(record, now);
    if (scheduled.terminal || scheduled.status === 'cancelling') return this.#momentFor(record, now);
    record.cancelRequestedAtMs = now;
    await this.#store.saveBatch(record);
    return this.#momentFor(record, now);
  }

  /** Resolves when background validation and result writing have settled (for a clean stop). */
  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.allSettled([...this.#validations.values(), ...this.#finishing.values()]);
  }

  /**
   * The moment to show. A batch whose schedule has ended but whose files are not written yet is
   * shown as it was just before the end, so a client never sees `completed` without its files.
   */
  #momentFor(record: BatchRecord, now: number): BatchMoment {
    const moment = batchMoment(record, now);
    if (!moment.terminal || moment.terminal.status === 'failed' || record.final) return moment;
    this.#finish(record, moment);
    return batchMoment(record, moment.terminal.atMs - 1);
  }

  #startValidation(record: BatchRecord, inputFile?: FileRecord): void {
    if (this.#validations.has(record.id) || this.#stopped) return;
    const file = inputFile ?? this.#store.files.get(record.input_file_id);
    const run = (async () => {
      const result = file
        ? await validateInput({
            path: this.#store.dataPath(file.id),
            bytes: file.bytes,
            endpoint: record.endpoint,
            limits: this.#config().limits,
            plan: record.plan,
            batchSeq: record.seq,
          })
        : {
            ok: false as const,
            errors: [
              {
                code: 'file_not_found',
                message: `The input file ${record.input_file_id} no longer exists.`,
                param: 'input_file_id',
                line: null,
              },
            ],
          };
      const doneAtMs = Date.now();
      // The token check and the assignment happen in one synchronous step, so two batches that
      // finish validating together cannot both slip under the limit.
      const deployed = result.ok ? azureDeploymentCheck(this.#config(), result.model) : null;
      record.validation = deployed
        ? { ok: false, errors: [deployed], doneAtMs }
        : result.ok
          ? this.#checkTokenLimit(record, { ...result, doneAtMs }, doneAtMs)
          : { ...result, doneAtMs };
      await this.#store.saveBatch(record);
    })();
    this.#validations.set(record.id, run);
    run
      .catch((err: unknown) => console.error(`[emulator] validating ${record.id} failed`, err))
      .finally(() => this.#validations.delete(record.id))
      .catch(() => undefined);
  }

  /** The enqueued-token limit of a model, if one is configured. */
  tokenLimitOf(model: string): number | undefined {
    const limits = this.#config().enqueuedTokenLimit;
    return limits[model] ?? limits['*'];
  }

  /** Prompt tokens of the model's batches still in the queue at `now` (all but `exceptId`). */
  enqueuedTokens(model: string, now: number, exceptId?: string): number {
    let enqueued = 0;
    for (const other of this.#store.batches.values()) {
      if (other.id === exceptId) continue;
      if (!other.validation && other.enqueued?.model === model) {
        enqueued += other.enqueued.promptTokens;
        continue;
      }
      if (!other.validation?.ok || other.validation.model !== model) continue;
      const status = batchMoment(other, now).status;
      if (status === 'validating' || status === 'in_progress' || status === 'finalizing' || status === 'cancelling') {
        enqueued += other.validation.promptTokens;
      }
    }
    return enqueued;
  }

  #checkTokenLimit(
    record: BatchRecord,
    result: Extract<BatchRecord['validation'], { ok: true }>,
    now: number,
  ): NonNullable<BatchRecord['validation']> {
    const limit = this.tokenLimitOf(result.model);
    if (limit === undefined) return result;
    if (this.enqueuedTokens(result.model, now, record.id) + result.promptTokens <= limit) return result;
    return {
      ok: false,
      doneAtMs: result.doneAtMs,
      errors: [
        {
          code: 'token_limit_exceeded',
          message: tokenLimitMessage(result.model, limit),
          param: null,
          line: null,
        },
      ],
    };
  }

  #finish(record: BatchRecord, moment: BatchMoment): void {
    const terminal = moment.terminal;
    if (!terminal || terminal.status === 'failed' || this.#finishing.has(record.id) || this.#stopped) return;
    const run = (async () => {
      // A batch cancelled or expired while still validating waits for validation to know its rows.
      await this.#validations.get(record.id);
      const validation = record.validation;
      const status = terminal.status as 'completed' | 'expired' | 'cancelled';
      const createdSec = Math.floor(terminal.atMs / 1000);
      if (!validation?.ok) {
        record.final = {
          status,
          output_file_id: null,
          error_file_id: null,
          request_counts: { total: 0, completed: 0, failed: 0 },
          usage: {
            input_tokens: 0,
            input_tokens_details: { cached_tokens: 0 },
            output_tokens: 0,
            output_tokens_details: { reasoning_tokens: 0 },
            total_tokens: 0,
          },
        };
        await this.#store.saveBatch(record);
        return;
      }
      const outputPath = this.#store.tmpPath();
      const errorPath = this.#store.tmpPath();
      const written = await writeResults({
        batchId: record.id,
        batchSeq: record.seq,
        endpoint: record.endpoint,
        plan: record.plan,
        inputPath: this.#store.dataPath(record.input_file_id),
        outputPath,
        errorPath,
        processed: terminal.processed,
        status,
        createdSec,
      });
      const expiresAt = createdSec + (record.output_expires_after?.seconds ?? THIRTY_DAYS);
      const keep = async (
        path: string,
        lines: number,
        bytes: number,
        kind: 'output' | 'error',
      ): Promise<string | null> => {
        if (lines === 0) {
          await rm(path, { force: true });
          return null;
        }
        const file: FileRecord = {
          id: newFileId(),
          object: 'file',
          bytes,
          created_at: createdSec,
          filename: `${record.id}_${kind}.jsonl`,
          purpose: 'batch_output',
          status: 'processed',
          status_details: null,
          expires_at: expiresAt,
          seq: this.#store.nextSeq(),
        };
        await rename(path, this.#store.dataPath(file.id));
        await this.#store.saveFile(file);
        return file.id;
      };
      const output_file_id = await keep(outputPath, written.outputLines, written.outputBytes, 'output');
      const error_file_id = await keep(errorPath, written.errorLines, written.errorBytes, 'error');
      record.final = {
        status,
        output_file_id,
        error_file_id,
        request_counts: written.request_counts,
        usage: written.usage,
      };
      await this.#store.saveBatch(record);
      // An input file deleted while its batch ran kept its bytes until now.
      if (!this.#store.files.has(record.input_file_id) && !this.isInputInUse(record.input_file_id)) {
        await rm(this.#store.dataPath(record.input_file_id), { force: true });
      }
    })();
    this.#finishing.set(record.id, run);
    run
      .catch((err: unknown) => console.error(`[emulator] writing results of ${record.id} failed`, err))
      .finally(() => this.#finishing.delete(record.id))
      .catch(() => undefined);
  }

  /** Whether an unfinished batch still reads this input file. */
  isInputInUse(fileId: string): boolean {
    for (const record of this.#store.batches.values()) {
      if (record.input_file_id === fileId && !record.final && !(record.validation && !record.validation.ok))
        return true;
    }
    return false;
  }
}

export function tokenLimitMessage(model: string, limit: number): string {
  return (
    `Enqueued token limit reached for ${model} in organization org-emulator. ` +
    `Limit: ${limit.toLocaleString('en-US')} enqueued tokens. ` +
    'Please try again once some in_progress batches have been completed.'
  );
}
