import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EmulatorConfig } from '../config.ts';
import type { BatchEngine } from '../lifecycle/batch-engine.ts';
import type { StateStore } from '../state/state-store.ts';

/** What every route handler receives. */
export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** The id captured from the path, for routes that have one. */
  id: string;
  store: StateStore;
  engine: BatchEngine;
  config: () => EmulatorConfig;
  setConfig: (patch: unknown) => EmulatorConfig;
}

/** A handler sends its own response; a returned value is sent as JSON with status 200. */
export type RouteHandler = (ctx: RouteContext) => Promise<unknown>;
