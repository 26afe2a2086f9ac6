import type { BatchEndpoint } from '../requests/index.ts';
import type { TokenCounting } from './token-estimator.ts';

/** One chunk file: what a child workflow submits as one batch. */
export interface ChunkManifest {
  index: number;
  uri: string;
  requests: number;
  bytes: number;
  estimatedInputTokens: number;
  /** At batch prices; output counted at the requests' max_tokens caps when they set them. */
  estimatedCostUsd: number;
}

/** What planning returns: small enough for workflow history at any input size. */
export interface JobManifest {
  jobId: string;
  round: number;
  endpoint: BatchEndpoint;
  model: string;
  totalRequests: number;
  totalBytes: number;
  estimatedInputTokens: number;
  estimatedCostUsd: number;
  chunks: ChunkManifest[];
  rejected: { count: number; uri?: string };
  /** Things worth telling the user that did not stop the job (a UTF-8 BOM, CRLF line ends). */
  warnings: string[];
  tokenCounting: TokenCounting;
}
