// The chaos plan's promises (test/chaos/README.md), checked without running a seed.
import { describe, expect, it } from 'vitest';
import { ROUTE_NAMES } from '../../src/tools/emulator/index.ts';
import { planSeed } from './plan.ts';

const SEEDS = Array.from({ length: 40 }, (_, i) => i + 1);

describe('the chaos plan of a seed', () => {
  it('is the same for the same seed and differs between seeds', () => {
    expect(planSeed(7)).toEqual(planSeed(7));
    expect(planSeed(7)).not.toEqual(planSeed(8));
  });

  it('has a job with several chunks, row errors, a kill during batches.create, both restarts, and faults on every route', () => {
    for (const seed of SEEDS) {
      const plan = planSeed(seed);
      expect(plan.rows / plan.maxRequests).toBeGreaterThan(3);
      expect(Object.values(plan.emulator.rowErrors ?? {}).some((r) => (r ?? 0) > 0)).toBe(true);
      expect(plan.kills.some((k) => k.kind === 'route' && k.route === 'batches.create')).toBe(true);
      expect(plan.devServerRestart.atMs).toBeGreaterThan(0);
      expect(Math.abs(plan.emulatorRestart.atMs - plan.devServerRestart.atMs)).toBeGreaterThanOrEqual(8_000);
      const faulted = new Set(plan.faultPhases.flatMap((p) => Object.keys(p.faults)));
      expect([...faulted].sort()).toEqual([...ROUTE_NAMES].sort());
      expect(plan.faultPhases.some((p) => (p.faults['batches.create']?.latencyMs ?? 0) > 0)).toBe(true);
      expect(plan.apiKey).toMatch(/^sk-chaos-\d+-[0-9a-f]{16}$/);
    }
  });

  it('cancels in some seeds and not in others', () => {
    const cancels = SEEDS.filter((s) => planSeed(s).cancel !== undefined).length;
    expect(cancels).toBeGreaterThan(5);
    expect(cancels).toBeLessThan(SEEDS.length - 5);
  });
});
