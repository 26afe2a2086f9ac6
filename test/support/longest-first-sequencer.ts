// Vitest's order with the longest test files first: a fresh clone has no timing cache, so vitest
// orders by file size, and the 2,000-chunk job (about 15-25 minutes on CI's 2 cores) could start
// last and hold the run open alone. Files named here start first; the rest keep vitest's order.
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Test files that run for many minutes, longest first (paths from the project root). */
const LONGEST = ['test/integration/job-scale.test.ts'];

export class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (spec: TestSpecification) => {
      const i = LONGEST.findIndex((path) => spec.moduleId.endsWith(path));
      return i === -1 ? LONGEST.length : i;
    };
    return sorted
      .map((spec, i) => ({ spec, i }))
      .sort((a, b) => rank(a.spec) - rank(b.spec) || a.i - b.i)
      .map((x) => x.spec);
  }
}
