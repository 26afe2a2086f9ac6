export { enrichJobWorkflowId, enrichProgressQuery, enrichTable } from './enrich-table.ts';
export type {
  EnrichPhase,
  EnrichProgress,
  EnrichRunStatus,
  EnrichSink,
  EnrichSource,
  EnrichSummary,
  EnrichTableInput,
  EnrichTemplate,
  ExportRowsInput,
  ExportRowsResult,
  ImportResultsInput,
  ImportResultsResult,
  SqlParam,
} from './enrich-types.ts';
