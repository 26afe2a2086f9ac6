// A webhook receiver (the project's, on node:http) in front of the run's dev server and an emulator,
// with counts of the calls it makes to each (a Temporal client interceptor, a fetch that counts).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@temporalio/client';
import OpenAI from 'openai';
import { createWebhookReceiver, type WebhookReceiver } from '../../src/webhooks/index.ts';
import { newWebhookId, signDelivery } from '../../src/tools/emulator/webhooks/sign-event.ts';
import { EMULATOR_WEBHOOK_SECRET } from '../../src/tools/emulator/webhooks/webhook-config.ts';

export interface TestReceiver {
  readonly receiver: WebhookReceiver;
  readonly url: string;
  /** Every log line the receiver wrote. */
  readonly lines: string[];
  /** Requests the receiver sent to OpenAI (the emulator) and signals it sent through Temporal. */
  readonly calls: { openai: number; temporalSignals: number };
  /** Holds every delivery (unanswered) until the returned function is called. */
  holdDeliveries(): () => void;
  close(): Promise<void>;
}

/** Starts the receiver on a free port with the emulator's default secret (or `secret`). */
export async function startTestReceiver(
  temporal: Client,
  openaiBaseURL: string,
  options: { secret?: string; maxBodyBytes?: number } = {},
): Promise<TestReceiver> {
  const lines: string[] = [];
  const calls = { openai: 0, temporalSignals: 0 };
  const counted = new Client({
    connection: temporal.connection,
    namespace: temporal.options.namespace,
    interceptors: {
      workflow: [
        {
          async signal(input, next) {
            calls.temporalSignals += 1;
            return await next(input);
          },
        },
      ],
    },
  });
  const receiver = createWebhookReceiver({
    temporal: counted,
    openai: new OpenAI({
      baseURL: openaiBaseURL,
      apiKey: 'sk-test-not-a-secret',
      maxRetries: 0,
      timeout: 10_000,
      fetch: async (url, init) => {
        calls.openai += 1;
        return await fetch(url, init);
      },
    }),
    secret: options.secret ?? EMULATOR_WEBHOOK_SECRET,
    ...(options.maxBodyBytes ? { maxBodyBytes: options.maxBodyBytes } : {}),
    log: (_level, line) => lines.push(line),
  });
  let held: Promise<void> = Promise.resolve();
  const server: Server = createServer((req, res) => {
    void held.then(() => receiver.nodeHandler(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    receiver,
    url: `http://127.0.0.1:${port}/`,
    lines,
    calls,
    holdDeliveries() {
      let release!: () => void;
      held = new Promise<void>((resolve) => (release = resolve));
      return release;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * POSTs a `batch.*` event for `batchId` to a receiver, signed as OpenAI signs it (a new
 * webhook-id each time, as another event for the same end), and returns the receiver's outcome.
 */
export async function deliverBatchEvent(url: string, batchId: string, type = 'batch.completed'): Promise<string> {
  const body = JSON.stringify({
    id: `evt_${Date.now()}`,
    object: 'event',
    created_at: Math.floor(Date.now() / 1000),
    type,
    data: { id: batchId },
  });
  const response = await fetch(url, {
    method: 'POST',
    headers: signDelivery(EMULATOR_WEBHOOK_SECRET, newWebhookId(), body),
    body,
  });
  return ((await response.json()) as { outcome: string }).outcome;
}
