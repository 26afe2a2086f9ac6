import type { RowErrorCode } from '../config.ts';

/** A stored file: the API's `OpenAIFile` plus the creation order used to sort lists stably. */
export interface FileRecord {
  id: string;
  object: 'file';
  bytes: number;
  created_at: number;
  filename: string;
  purpose: string;
  status: 'processed';
  status_details: null;
  expires_at: number | null;
  seq: number;
}

/** One entry of a failed batch's `errors.data`. */
export interface BatchErrorEntry {
  code: string;
  message: string;
  param: string | null;
  line: number | null;
}

export interface BatchUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

/** The timing and failure knobs in force when the batch was created; later config changes do not rewrite its past. */
export interface BatchPlan {
  validatingMs: number;
  finalizingMs: number;
  cancellingMs: number;
  windowMs: number;
  /** `null` means instant. */
  rowsPerSecond: number | null;
  rowErrors: { [code in RowErrorCode]?: number | undefined };
  seed: number;
  /** Azure mode: the completion window is shown (`expires_at`) but never ends the batch. */
  neverExpires?: true;
}

export type ValidationResult =
  | { ok: true; doneAtMs: number; total: number; model: string; promptTokens: number; failedRows: number[] }
  | { ok: false; doneAtMs: number; errors: BatchErrorEntry[] };

/** Written once the output and error files exist; the batch is then terminal. */
export interface FinalResult {
  status: 'completed' | 'expired' | 'cancelled';
  output_file_id: string | null;
  error_file_id: string | null;
  request_counts: { total: number; completed: number; failed: number };
  usage: BatchUsage;
}

/** A stored batch: what was asked, when, and what validation and finalization found. */
export interface BatchRecord {
  id: string;
  seq: number;
  createdAtMs: number;
  endpoint: string;
  input_file_id: string;
  completion_window: string;
  metadata: Record<string, string> | null;
  output_expires_after: { anchor: 'created_at'; seconds: number } | null;
  plan: BatchPlan;
  validation: ValidationResult | null;
  cancelRequestedAtMs: number | null;
  final: FinalResult | null;
  /** Azure fail-fast mode: the model and prompt tokens the create was admitted with (counted while validating). */
  enqueued?: { model: string; promptTokens: number };
}

export const ZERO_USAGE: BatchUsage = {
  input_tokens: 0,
  input_tokens_details: { cached_tokens: 0 },
  output_tokens: 0,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: 0,
};
