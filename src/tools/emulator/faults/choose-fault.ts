import type { EmulatorConfig, RouteName } from '../config.ts';
import { hashUnit } from '../seeded-random.ts';

export type FaultKind =
  | 'rateLimit'
  | 'unauthorized'
  | 'serverError'
  | 'badGateway'
  | 'serviceUnavailable'
  | 'dropConnection'
  | 'dropAfterHandling';

const KINDS: readonly FaultKind[] = [
  'rateLimit',
  'unauthorized',
  'serverError',
  'badGateway',
  'serviceUnavailable',
  'dropConnection',
  'dropAfterHandling',
];

export interface FaultDecision {
  fault: FaultKind | null;
  latencyMs: number;
  retryAfterSeconds: number;
}

/**
 * The fault (if any) for the `callIndex`-th call of a route. One draw per call from the seed, the
 * route and the call's number on that route, so the same sequence of calls meets the same faults.
 */
export function chooseFault(config: EmulatorConfig, route: RouteName, callIndex: number): FaultDecision {
  const faults = config.faults[route] ?? config.faults['*'];
  if (!faults) return { fault: null, latencyMs: 0, retryAfterSeconds: 0 };
  const draw = hashUnit(config.seed, 'fault', route, callIndex);
  let threshold = 0;
  let fault: FaultKind | null = null;
  for (const kind of KINDS) {
    threshold += faults[kind] ?? 0;
    if (draw < threshold) {
      fault = kind;
      break;
    }
  }
  const latencyDraw = hashUnit(config.seed, 'latency', route, callIndex);
  const latencyMs = faults.latencyMs && latencyDraw < (faults.latencyRate ?? 1) ? faults.latencyMs : 0;
  return { fault, latencyMs, retryAfterSeconds: faults.retryAfterSeconds ?? 1 };
}
