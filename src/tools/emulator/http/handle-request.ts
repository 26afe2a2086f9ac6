import { finished } from 'node:stream/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EmulatorConfig, RouteName } from '../config.ts';
import { chooseFault } from '../faults/choose-fault.ts';
import { incorrectKeyMessage, sendFault } from '../faults/send-fault.ts';
import { newRequestId } from '../ids.ts';
import type { BatchEngine } from '../lifecycle/batch-engine.ts';
import type { RouteContext } from '../routes/route-context.ts';
import type { StateStore } from '../state/state-store.ts';
import { ApiError } from './api-error.ts';
import { sendError, sendJson, sendUnknownError } from './respond.ts';
import { API_ROUTES, CONTROL_ROUTES, matchRoute } from './route-table.ts';
import { azureAccessDenied } from '../providers/azure-errors.ts';
import { azureCredential } from '../providers/azure-auth.ts';
import { providerPath } from '../providers/provider-paths.ts';

export interface RequestDeps {
  store: StateStore;
  engine: BatchEngine;
  config: () => EmulatorConfig;
  setConfig: (patch: unknown) => EmulatorConfig;
  /** Told of each counted API call, before auth, faults and handling (in-process observers only). */
  onCall?: ((route: RouteName, callIndex: number) => void) | undefined;
}

const NO_KEY =
  "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth " +
  '(i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) ' +
  "if you're accessing the API from your browser and are prompted for a username and password. " +
  'You can obtain an API key from https://platform.openai.com/account/api-keys.';

/** Reads and discards a request body, so an early answer does not leave the client mid-upload. */
async function drain(req: IncomingMessage): Promise<void> {
  if (req.readableEnded) return;
  req.resume();
  await finished(req).catch(() => undefined);
}

/**
 * One HTTP exchange: control routes first; then, for `/v1`, the call counter, auth, the route's
 * injected latency and fault, and the handler.
 */
export async function handleRequest(deps: RequestDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = Date.now();
  res.setHeader('x-request-id', newRequestId());
  res.setHeader('openai-version', '2020-10-01');
  res.setHeader('openai-organization', 'org-emulator');
  const url = new URL(req.url ?? '/', 'http://emulator.local');
  const method = req.method ?? 'GET';
  const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
  const context = (id: string): RouteContext => ({ req, res, url, id, ...deps });
  try {
    const control = matchRoute(CONTROL_ROUTES, method, path);
    if (control) return send(res, await control.route.handler(context(control.id)), started);

    let apiPath: string;
    try {
      apiPath = providerPath(deps.config(), method, path, url);
    } catch (err) {
      await drain(req);
      throw err;
    }
    const matched = matchRoute(API_ROUTES, method, apiPath);
    if (!matched) {
      await drain(req);
      throw new ApiError(404, `Invalid URL (${method} ${url.pathname})`);
    }
    const { store } = deps;
    const name = matched.route.name;
    const callIndex = (store.counters.callsPerRoute[name] ?? 0) + 1;
    store.counters.callsPerRoute[name] = callIndex;
    store.markCountersDirty();
    deps.onCall?.(name, callIndex);

    const bearer = /^Bearer\s+(\S+)/i.exec(req.headers.authorization ?? '')?.[1];
    let key: string;
    if (deps.config().provider === 'azure') {
      const credential = azureCredential(deps.config(), req.headers['api-key'], bearer);
      if (!credential) {
        await drain(req);
        throw azureAccessDenied();
      }
      key = credential;
    } else {
      if (!bearer) {
        await drain(req);
        throw new ApiError(401, NO_KEY, { param: null, code: null });
      }
      key = bearer;
      const accepted = deps.config().apiKeys;
      if (accepted.length > 0 && !accepted.includes(key)) {
        await drain(req);
        throw new ApiError(401, incorrectKeyMessage(key), { param: null, code: 'invalid_api_key' });
      }
    }

    const decision = chooseFault(deps.config(), name, callIndex);
    if (decision.latencyMs > 0) await sleep(decision.latencyMs);
    if (decision.fault) {
      const perRoute = (store.counters.faultsInjected[name] ??= {});
      perRoute[decision.fault] = (perRoute[decision.fault] ?? 0) + 1;
    }
    if (decision.fault === 'dropConnection' || (decision.fault === 'dropAfterHandling' && name === 'files.content')) {
      req.socket.destroy();
      return;
    }
    if (decision.fault && decision.fault !== 'dropAfterHandling') {
      await drain(req);
      return sendFault(res, decision.fault, decision.retryAfterSeconds, key);
    }
    const result = await matched.route.handler(context(matched.id));
    if (decision.fault === 'dropAfterHandling') {
      // The work is done and stored; only the answer is lost, as when a connection dies in flight.
      req.socket.destroy();
      return;
    }
    send(res, result, started);
  } catch (err) {
    // The client went away mid-request (a killed worker, a reset upload): nobody to answer.
    if (req.destroyed && (err as NodeJS.ErrnoException | undefined)?.code === 'ECONNRESET') {
      res.destroy();
      return;
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // A refused upload may still be arriving; read it out so the client gets the answer.
    await drain(req);
    if (err instanceof ApiError) return sendError(res, err);
    sendUnknownError(res, err);
  }
}

function send(res: ServerResponse, result: unknown, started: number): void {
  if (res.headersSent || result === undefined) return;
  sendJson(res, 200, result, { 'openai-processing-ms': String(Date.now() - started) });
}
