// A webhook receiver (the project's, on node:http) in front of the run's dev server and an emulator.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import OpenAI from 'openai';
import { createWebhookReceiver, type WebhookReceiver } from '../../src/webhooks/index.ts';
import { EMULATOR_WEBHOOK_SECRET } from '../../src/tools/emulator/webhooks/webhook-config.ts';

export interface TestReceiver {
  readonly receiver: WebhookReceiver;
  readonly url: string;
  /** Every log line the receiver wrote. */
  readonly lines: string[];
  close(): Promise<void>;
}

/** Starts the receiver on a free port with the emulator's default secret (or `secret`). */
export async function startTestReceiver(
  temporal: Client,
  openaiBaseURL: string,
  secret = EMULATOR_WEBHOOK_SECRET,
): Promise<TestReceiver> {
  const lines: string[] = [];
  const receiver = createWebhookReceiver({
    temporal,
    openai: new OpenAI({ baseURL: openaiBaseURL, apiKey: 'sk-test-not-a-secret', maxRetries: 0, timeout: 10_000 }),
    secret,
    log: (_level, line) => lines.push(line),
  });
  const server: Server = createServer((req, res) => receiver.nodeHandler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    receiver,
    url: `http://127.0.0.1:${port}/`,
    lines,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
