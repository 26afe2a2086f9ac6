// Everything a chaos seed does, drawn up front from the seed: the job's shape, the emulator's
// timings and row errors, the fault phases, the kill schedule and the restarts. Timings of the run
// itself vary; the choices do not.
import { SeededRandom } from '../../src/tools/emulator/seeded-random.ts';
import {
  ROUTE_NAMES,
  type EmulatorConfigPatch,
  type RouteFaults,
  type RouteName,
} from '../../src/tools/emulator/index.ts';
import type { CrashPoint } from '../../activities/crash-point.ts';

/** A worker kill: at a moment of the run, or while a worker is inside a call to a route, or while the job finalizes. */
export type KillPlan =
  /** SIGKILL one worker (or all) at `atMs` after the job started. */
  | { readonly kind: 'timed'; readonly atMs: number; readonly all: boolean; readonly restartAfterMs: number }
  /** SIGKILL every worker on the first call to `route` after `armedAtMs` (the call is then in flight). */
  | { readonly kind: 'route'; readonly route: RouteName; readonly armedAtMs: number; readonly restartAfterMs: number }
  /** SIGKILL every worker once the job starts writing its results. */
  | { readonly kind: 'finalize'; readonly restartAfterMs: number }
  /** At `atMs`, start one extra worker that SIGKILLs itself at an activity crash point. */
  | { readonly kind: 'crash-point'; readonly atMs: number; readonly point: CrashPoint };

export interface FaultPhase {
  readonly atMs: number;
  readonly label: 'calm' | 'mild' | 'storm';
  readonly faults: Partial<Record<RouteName, RouteFaults>>;
}

export interface ChaosPlan {
  readonly seed: number;
  /** A distinctive fake key: the checks look for it in every history and result file. */
  readonly apiKey: string;
  readonly rows: number;
  readonly maxRequests: number;
  readonly maxActiveBatches: number;
  readonly maxRounds: number;
  /** Worker processes kept running (crash-point workers come on top). */
  readonly workers: number;
  /** Emulator settings at start (timings, row errors, seed, the accepted key); faults come from the phases. */
  readonly emulator: EmulatorConfigPatch;
  readonly faultPhases: readonly FaultPhase[];
  readonly kills: readonly KillPlan[];
  readonly devServerRestart: { readonly atMs: number; readonly downMs: number };
  readonly emulatorRestart: { readonly atMs: number; readonly downMs: number };
  /**
   * In some seeds, `handle.cancel()` `delayMs` after the `afterCreates`-th call to `batches.create`
   * made after `notBeforeMs` had passed (counting every call: faults, retries).
   */
  readonly cancel?:
    { readonly afterCreates: number; readonly notBeforeMs: number; readonly delayMs: number } | undefined;
  /**
   * When the chaos stops: faults off (row errors stay), no more kills armed by time or route. The
   * job then has until the timeout to end, so a seed that does not end is a hang, not a slow storm.
   */
  readonly chaosEndsAtMs: number;
}

const CHAOS_ENDS_AT_MS = 110_000;
const CRASH_POINTS: readonly CrashPoint[] = ['during-upload', 'during-poll', 'after-create'];
/** Routes whose in-flight call is a good moment for a kill (each is one phase of a chunk). */
const KILL_ROUTES: readonly RouteName[] = [
  'files.create',
  'batches.create',
  'batches.list',
  'batches.retrieve',
  'files.content',
  'batches.cancel',
];

export function planSeed(seed: number): ChaosPlan {
  const rng = new SeededRandom(`chaos-${seed}`);
  const between = (min: number, max: number): number => min + rng.next() * (max - min);
  const ms = (minS: number, maxS: number): number => Math.round(between(minS, maxS) * 1000);
  const hex = Array.from({ length: 16 }, () => rng.int(0, 15).toString(16)).join('');

  const rows = rng.int(20, 40) * 100;
  const maxRequests = rng.int(4, 10) * 50;
  const cancels = rng.next() < 0.4;
  // Mid-flight: once the job has asked for a few batches (and after the restarts), a little later.
  const cancel = cancels ? { afterCreates: rng.int(3, 6), notBeforeMs: ms(45, 60), delayMs: ms(0, 6) } : undefined;
  const devServerRestart = { atMs: ms(15, 40), downMs: ms(1, 5) };
  let emulatorAt = ms(10, 45);
  if (Math.abs(emulatorAt - devServerRestart.atMs) < 8_000) emulatorAt = devServerRestart.atMs + 10_000;
  const emulatorRestart = { atMs: emulatorAt, downMs: ms(1, 5) };

  const phases: FaultPhase[] = [];
  const phaseCount = rng.int(3, 5);
  let at = 0;
  for (let i = 0; i < phaseCount; i++) {
    const label =
      i === 0
        ? 'mild'
        : rng.pick(
            phases.some((p) => p.label === 'calm')
              ? (['mild', 'storm'] as const)
              : (['calm', 'mild', 'storm'] as const),
          );
    phases.push({ atMs: at, label, faults: label === 'calm' ? {} : routeFaults(rng, label === 'storm' ? 2.5 : 1) });
    at += ms(10, 25);
  }

  // Kills at least 12 s apart: each costs the job a heartbeat timeout and a sticky-queue timeout,
  // and a job that never gets past its first uploads would test nothing after them.
  const kills: KillPlan[] = [];
  const killCount = rng.int(3, 5);
  let killAt = ms(3, 10);
  for (let i = 0; i < killCount; i++) {
    const restartAfterMs = ms(0, 3);
    const roll = rng.next();
    if (roll < 0.35) kills.push({ kind: 'timed', atMs: killAt, all: rng.next() < 0.3, restartAfterMs });
    else if (roll < 0.75)
      kills.push({ kind: 'route', route: rng.pick(KILL_ROUTES), armedAtMs: killAt, restartAfterMs });
    else kills.push({ kind: 'crash-point', atMs: killAt, point: rng.pick(CRASH_POINTS) });
    killAt += ms(12, 25);
    if (killAt > CHAOS_ENDS_AT_MS - 10_000) break;
  }
  // Every phase at least once: the finalize kill in most seeds, a create in flight in all.
  if (rng.next() < 0.7) kills.push({ kind: 'finalize', restartAfterMs: ms(0, 2) });
  if (!kills.some((k) => k.kind === 'route' && k.route === 'batches.create'))
    kills.push({ kind: 'route', route: 'batches.create', armedAtMs: ms(20, 50), restartAfterMs: ms(0, 2) });

  return {
    seed,
    apiKey: `sk-chaos-${seed}-${hex}`,
    rows,
    maxRequests,
    maxActiveBatches: rng.int(2, 4),
    maxRounds: rng.int(3, 4),
    workers: 2,
    emulator: {
      seed,
      rowsPerSecond: rng.int(150, 400),
      validatingSeconds: between(0.2, 1),
      finalizingSeconds: between(0.2, 0.6),
      cancellingSeconds: between(0.2, 1.5),
      rowErrors: {
        server_error: between(0.02, 0.06),
        rate_limit_exceeded: between(0.01, 0.03),
        timeout: between(0, 0.02),
      },
    },
    faultPhases: phases,
    kills,
    devServerRestart,
    emulatorRestart,
    cancel,
    chaosEndsAtMs: CHAOS_ENDS_AT_MS,
  };
}

/** Faults on every route; `scale` makes a storm. Creates are sometimes slower than the heartbeat timeout. */
function routeFaults(rng: SeededRandom, scale: number): Partial<Record<RouteName, RouteFaults>> {
  const rate = (max: number): number => Math.round(rng.next() * max * scale * 1000) / 1000;
  const faults: Partial<Record<RouteName, RouteFaults>> = {};
  for (const route of ROUTE_NAMES) {
    const f: { -readonly [K in keyof RouteFaults]: RouteFaults[K] } = {
      rateLimit: rate(0.08),
      // 1 s as OpenAI sends; 0 would make every 429 terminal today (nextRetryDelay 0 ends the retries; see README).
      retryAfterSeconds: 1,
      serverError: rate(0.04),
      badGateway: rate(0.03),
      serviceUnavailable: rate(0.03),
      dropConnection: rate(0.04),
      dropAfterHandling: rate(0.06),
    };
    if (route === 'batches.create') {
      f.latencyMs = rng.int(30, 150) * 100;
      f.latencyRate = Math.min(1, 0.25 * scale + rng.next() * 0.3);
    } else if (rng.next() < 0.3) {
      f.latencyMs = rng.int(1, 15) * 100;
      f.latencyRate = Math.min(1, rng.next() * 0.4 * scale);
    }
    faults[route] = f;
  }
  return faults;
}
