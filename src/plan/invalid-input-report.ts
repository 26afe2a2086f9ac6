import { FIX_FOR_REASON, type InvalidReason, type RequestIssue } from '../requests/index.ts';

/** The JSON-safe summary of a bad input: bounded in size whatever the number of bad lines. */
export interface InvalidInputReport {
  inputUri: string;
  endpoint: string;
  totalLines: number;
  invalidLines: number;
  validLines: number;
  /** The first 20 problems, in file order. */
  firstIssues: { line: number; reason: InvalidReason; field?: string; message: string }[];
  countsByReason: Partial<Record<InvalidReason, number>>;
}

const SHOWN = 20;

/** Collects invalid lines as they stream by, keeping only the first 20 and the counts. */
export class InvalidInputCollector {
  readonly report: InvalidInputReport;

  constructor(inputUri: string, endpoint: string) {
    this.report = {
      inputUri,
      endpoint,
      totalLines: 0,
      invalidLines: 0,
      validLines: 0,
      firstIssues: [],
      countsByReason: {},
    };
  }

  add(line: number, issues: readonly RequestIssue[]): void {
    this.report.invalidLines++;
    const seen = new Set<InvalidReason>();
    for (const issue of issues) {
      if (this.report.firstIssues.length < SHOWN) {
        this.report.firstIssues.push({
          line,
          reason: issue.reason,
          ...(issue.field ? { field: issue.field } : {}),
          message: issue.message,
        });
      }
      // A line counts once per reason, so the counts add up to lines a user must fix.
      if (!seen.has(issue.reason)) {
        seen.add(issue.reason);
        this.report.countsByReason[issue.reason] = (this.report.countsByReason[issue.reason] ?? 0) + 1;
      }
    }
  }
}

/**
 * The human report: first 20 problems with line numbers, counts per reason with the fix, what to do.
 * `skip` is how the reader turns skipping on (the CLI says `--on-invalid skip`).
 */
export function formatInvalidInput(report: InvalidInputReport, skip = "onInvalid: 'skip'"): string {
  const out: string[] = [];
  out.push(invalidInputHeadline(report));
  for (const i of report.firstIssues) out.push(`  line ${i.line}: ${i.message} [${i.reason}]`);
  const shownLines = new Set(report.firstIssues.map((i) => i.line)).size;
  if (report.invalidLines > shownLines) out.push(`  … and ${report.invalidLines - shownLines} more invalid lines`);
  out.push('Invalid lines per reason:');
  for (const [reason, count] of Object.entries(report.countsByReason) as [InvalidReason, number][]) {
    out.push(`  ${reason}: ${count} — ${FIX_FOR_REASON[reason]}`);
  }
  out.push(
    report.validLines > 0
      ? fixOrSkipAdvice(report.validLines, skip)
      : 'What to do: fix the input file and start the job again; no line of it can be submitted as it is.',
  );
  return out.join('\n');
}

function invalidInputHeadline(report: InvalidInputReport): string {
  return (
    `${report.invalidLines} of ${report.totalLines} request lines in ${report.inputUri} ` +
    `are invalid for ${report.endpoint}; nothing was uploaded.`
  );
}

function fixOrSkipAdvice(validLines: number, skip: string): string {
  return (
    `What to do: fix these lines and start the job again, or start it with ${skip} ` +
    `to submit the ${validLines} valid lines and write the invalid ones to rejected.jsonl.`
  );
}

/** Planning refused the input; `message` is the human report, `report` its JSON-safe form. */
export class InvalidInputError extends Error {
  override readonly name = 'InvalidInputError';
  readonly report: InvalidInputReport;

  constructor(report: InvalidInputReport) {
    super(formatInvalidInput(report));
    this.report = report;
  }
}
