import { describe, expect, it } from 'vitest';
import { admit } from '../../workflows/job/sliding-window.ts';

const NOW = Date.parse('2026-11-22T03:00:00Z');
const chunk = { estimatedCostUsd: 2 };
const running = { committedCostUsd: 0 };

describe('admit: the sliding window launches a chunk or says why it skips it', () => {
  it('launches a chunk when nothing stops it', () => {
    expect(admit(running, chunk, NOW, {})).toEqual({ launch: true });
    expect(admit(running, chunk, NOW, { deadlineMs: NOW + 1, maxCostUsd: 2 })).toEqual({ launch: true });
  });

  it('skips every chunk once a chunk failed in a way every chunk would', () => {
    const fatal = { committedCostUsd: 0, fatal: { type: 'OpenAIBatch.Auth', message: '401' } };
    expect(admit(fatal, chunk, NOW, {})).toEqual({ launch: false, skip: 'stopped' });
    // A refused key outranks the deadline and the budget.
    expect(admit(fatal, chunk, NOW, { deadlineMs: NOW, maxCostUsd: 0 })).toEqual({ launch: false, skip: 'stopped' });
  });

  it('skips at and after the deadline, not before', () => {
    expect(admit(running, chunk, NOW, { deadlineMs: NOW })).toEqual({ launch: false, skip: 'deadline' });
    expect(admit(running, chunk, NOW, { deadlineMs: NOW - 1 })).toEqual({ launch: false, skip: 'deadline' });
    expect(admit(running, chunk, NOW - 1, { deadlineMs: NOW })).toEqual({ launch: true });
  });

  it('skips a chunk whose estimated cost would pass the budget; one that reaches it exactly launches', () => {
    expect(admit({ committedCostUsd: 3 }, chunk, NOW, { maxCostUsd: 4 })).toEqual({ launch: false, skip: 'budget' });
    expect(admit({ committedCostUsd: 2 }, chunk, NOW, { maxCostUsd: 4 })).toEqual({ launch: true });
    // The deadline is told before the budget.
    expect(admit({ committedCostUsd: 3 }, chunk, NOW, { deadlineMs: NOW, maxCostUsd: 4 })).toEqual({
      launch: false,
      skip: 'deadline',
    });
  });
});
