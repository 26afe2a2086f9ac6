import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Client } from '@temporalio/client';
import type OpenAI from 'openai';
import { signalOwningChunk } from './find-chunk.ts';
import { BodyTooLargeError, readRawBody } from './read-raw-body.ts';
import { SeenDeliveries } from './seen-deliveries.ts';

/** The `retry-after` of a 409 for a webhook-id still being handled (its lookup and signal take about a second). */
const IN_FLIGHT_RETRY_AFTER_SECONDS = 5;

/** The batch events that end a batch; every other event type is acknowledged and ignored. */
export const BATCH_END_EVENTS: readonly string[] = [
  'batch.completed',
  'batch.failed',
  'batch.expired',
  'batch.cancelled',
];

/** Options of {@link createWebhookReceiver}. */
export interface WebhookReceiverOptions {
  /** A client of the Temporal namespace the jobs run in. */
  readonly temporal: Client;
  /** The OpenAI client that retrieves a batch to find its job (use `maxRetries: 0` and a short timeout). */
  readonly openai: OpenAI;
  /** The endpoint's signing secret (`whsec_…`). @default process.env.OPENAI_WEBHOOK_SECRET */
  readonly secret?: string | undefined;
  /** How old (or early) a delivery's `webhook-timestamp` may be, in seconds. @default 300 */
  readonly toleranceSeconds?: number | undefined;
  /** Bodies over this many bytes are answered 413 unread (OpenAI's events are under 1 KB). @default 65_536 */
  readonly maxBodyBytes?: number | undefined;
  /** Where the one-line outcome of each delivery goes (never the body, never the secret). @default console */
  readonly log?: ((level: 'info' | 'warn' | 'error', line: string) => void) | undefined;
}

/** The answer to one delivery. */
export interface WebhookResponse {
  readonly status: number;
  /** Headers to send with it (`retry-after` on a 409). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly body: { readonly ok: boolean; readonly outcome: string; readonly detail?: string };
}

/** Why deliveries were refused, counted (each refusal's log line carries its count). */
export type RejectReason =
  'bad_signature' | 'stale_timestamp' | 'missing_headers' | 'too_large' | 'not_json' | 'bad_event';

/** What the receiver has done since it started. */
export interface WebhookCounters {
  received: number;
  signalled: number;
  duplicates: number;
  /** Redeliveries refused (409) while an attempt with the same webhook-id was still being handled. */
  inFlight: number;
  unowned: number;
  ignoredTypes: number;
  failed: number;
  rejected: Record<RejectReason, number>;
}

/** A webhook receiver: {@link WebhookReceiver.handle} for any framework, `nodeHandler` for `node:http`-style servers. */
export interface WebhookReceiver {
  /** Verifies and handles one delivery given its raw body (exact bytes, as text) and its headers. */
  readonly handle: (
    rawBody: string,
    headers: Record<string, string | readonly string[] | undefined>,
  ) => Promise<WebhookResponse>;
  /** `(req, res)` for `node:http` and Express (behind `express.raw()`, or no body parser); needs no `this`. */
  readonly nodeHandler: (req: IncomingMessage, res: ServerResponse) => void;
  counters(): WebhookCounters;
}

/**
 * A receiver of OpenAI's batch webhooks: verifies each delivery with the SDK's
 * `webhooks.unwrap` (bad signature, stale timestamp: 400 before any other work), answers a
 * `webhook-id` already handled 200 at once (one still being handled 409, as its first attempt may
 * yet fail), and signals the chunk workflow that owns the batch, which
 * then polls the batch to confirm. Secret from `OPENAI_WEBHOOK_SECRET` unless given.
 */
export function createWebhookReceiver(options: WebhookReceiverOptions): WebhookReceiver {
  const secret = options.secret ?? process.env['OPENAI_WEBHOOK_SECRET'];
  if (!secret)
    throw new TypeError(
      'no webhook secret: set OPENAI_WEBHOOK_SECRET to the signing secret shown when the endpoint was created',
    );
  const toleranceSeconds = options.toleranceSeconds ?? 300;
  const maxBodyBytes = options.maxBodyBytes ?? 65_536;
  const log = options.log ?? defaultLog;
  const seen = new SeenDeliveries(2 * toleranceSeconds * 1000);
  const counters: WebhookCounters = {
    received: 0,
    signalled: 0,
    duplicates: 0,
    inFlight: 0,
    unowned: 0,
    ignoredTypes: 0,
    failed: 0,
    rejected: { bad_signature: 0, stale_timestamp: 0, missing_headers: 0, too_large: 0, not_json: 0, bad_event: 0 },
  };

  // `id`: a verified webhook-id, printed as it is; `unverified`: one nobody signed, printed only
  // as a short hash (it is anyone's text), so that repeats can still be told apart in the log.
  const reject = (
    reason: RejectReason,
    status: number,
    detail: string,
    id?: { verified?: string; unverified?: string },
  ): WebhookResponse => {
    counters.rejected[reason] += 1;
    const which = id?.verified
      ? ` webhook-id=${id.verified}`
      : id?.unverified
        ? ` unverified webhook-id sha256:${createHash('sha256').update(id.unverified).digest('hex').slice(0, 12)}`
        : '';
    log('warn', `[webhooks] rejected ${reason} (${counters.rejected[reason]} so far)${which}: ${detail}`);
    return { status, body: { ok: false, outcome: reason, detail } };
  };

  const handle: WebhookReceiver['handle'] = async (rawBody, headers) => {
    counters.received += 1;
    const flat = flattenHeaders(headers);
    const webhookId = flat['webhook-id'];
    let event: unknown;
    try {
      // The SDK checks the timestamp's tolerance and the HMAC over `id.timestamp.body`, then parses.
      await options.openai.webhooks.verifySignature(rawBody, flat, secret, toleranceSeconds);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (/missing required header/i.test(message)) return reject('missing_headers', 400, message);
      const unverified = { unverified: webhookId ?? '' };
      if (/timestamp/i.test(message)) return reject('stale_timestamp', 400, message, unverified);
      return reject('bad_signature', 400, 'the signature does not match the body', unverified);
    }
    // Signed from here on: the id is the sender's.
    const id = webhookId as string;
    try {
      event = JSON.parse(rawBody);
    } catch {
      return reject('not_json', 400, 'the body is not JSON', { verified: id });
    }
    const { type, batchId } = eventFields(event);
    if (!type) return reject('bad_event', 400, 'the event has no type', { verified: id });
    const claim = seen.claim(id);
    if (claim === 'in_flight') {
      // The first attempt may still fail (503): acknowledging this copy could lose the hint.
      counters.inFlight += 1;
      log('info', `[webhooks] webhook-id=${id} still being handled: redelivery refused (${counters.inFlight} so far)`);
      return {
        status: 409,
        headers: { 'retry-after': String(IN_FLIGHT_RETRY_AFTER_SECONDS) },
        body: { ok: false, outcome: 'in_flight', detail: 'an attempt with this webhook-id is being handled' },
      };
    }
    if (claim === 'done') {
      counters.duplicates += 1;
      log('info', `[webhooks] duplicate webhook-id=${id} ignored (${counters.duplicates} so far)`);
      return { status: 200, body: { ok: true, outcome: 'duplicate' } };
    }
    if (!BATCH_END_EVENTS.includes(type)) {
      seen.done(id);
      counters.ignoredTypes += 1;
      log('info', `[webhooks] event type ${safe(type)} ignored (${counters.ignoredTypes} so far) webhook-id=${id}`);
      return { status: 200, body: { ok: true, outcome: 'ignored_type' } };
    }
    if (!batchId) {
      seen.done(id);
      return reject('bad_event', 400, `a ${type} event without data.id`, { verified: id });
    }
    try {
      const result = await signalOwningChunk(options.openai, options.temporal, { batchId, event: type });
      seen.done(id);
      if (result.outcome === 'unowned') {
        counters.unowned += 1;
        log('info', `[webhooks] ${type} for ${batchId}: ${result.reason}; acknowledged (${counters.unowned} so far)`);
        return { status: 200, body: { ok: true, outcome: 'unowned' } };
      }
      counters.signalled += 1;
      log('info', `[webhooks] ${type} for ${batchId}: signalled ${result.workflowId}`);
      return { status: 200, body: { ok: true, outcome: 'signalled' } };
    } catch (err) {
      // OpenAI or Temporal unreachable: answer 5xx so that OpenAI delivers again later.
      seen.release(id);
      counters.failed += 1;
      log('error', `[webhooks] ${type} for ${batchId} not handled (${counters.failed} so far): ${errorLine(err)}`);
      return { status: 503, body: { ok: false, outcome: 'failed', detail: 'try again later' } };
    }
  };

  const nodeHandler: WebhookReceiver['nodeHandler'] = (req, res) => {
    void (async () => {
      let response: WebhookResponse;
      if (req.method !== 'POST') {
        response = { status: 405, body: { ok: false, outcome: 'method_not_allowed' } };
      } else {
        try {
          response = await handle(await readRawBody(req, maxBodyBytes), req.headers);
        } catch (err) {
          if (err instanceof BodyTooLargeError) {
            counters.received += 1;
            response = reject('too_large', 413, `${err.message}; the limit is ${maxBodyBytes} bytes`);
          } else {
            log('error', `[webhooks] cannot read the request: ${errorLine(err)}`);
            response = { status: 500, body: { ok: false, outcome: 'failed', detail: errorLine(err) } };
          }
        }
      }
      send(res, response, req);
    })();
  };

  return { handle, nodeHandler, counters: () => structuredClone(counters) };
}

function send(res: ServerResponse, response: WebhookResponse, req: IncomingMessage): void {
  if (res.headersSent) return;
  const unread = !req.readableEnded;
  res.writeHead(response.status, {
    ...response.headers,
    'content-type': 'application/json',
    // A body left unread (413) is not drained: close the connection instead.
    ...(unread ? { connection: 'close' } : {}),
  });
  res.end(JSON.stringify(response.body));
  if (unread) res.once('finish', () => req.destroy());
}

function flattenHeaders(headers: Record<string, string | readonly string[] | undefined>): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const first = typeof value === 'string' ? value : value?.[0];
    if (first !== undefined) flat[name.toLowerCase()] = first;
  }
  return flat;
}

function eventFields(event: unknown): { type?: string; batchId?: string } {
  if (!event || typeof event !== 'object') return {};
  const { type, data } = event as { type?: unknown; data?: { id?: unknown } };
  const id = data && typeof data === 'object' ? data.id : undefined;
  return {
    ...(typeof type === 'string' ? { type } : {}),
    // Only an id shaped like OpenAI's goes into a visibility query.
    ...(typeof id === 'string' && /^[A-Za-z0-9_-]{1,128}$/.test(id) ? { batchId: id } : {}),
  };
}

/** An event type as printed in a log line: short, no control characters. */
function safe(text: string): string {
  return JSON.stringify(text.slice(0, 80));
}

function errorLine(err: unknown): string {
  return (err instanceof Error ? `${err.name}: ${err.message}` : String(err)).split('\n')[0] ?? '';
}

function defaultLog(level: 'info' | 'warn' | 'error', line: string): void {
  console[level](line);
}
