import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createOpenAIClient } from '../../../openai/client.ts';
import { createWebhookReceiver } from '../../../webhooks/index.ts';
import type { Command } from '../command.ts';
import { connectFromEnvironment } from '../connect.ts';
import { parseFlags, parsePort } from '../parse-flags.ts';
import { UserError } from '../user-error.ts';

const usage = `Usage: openai-batch webhooks --port <n> [options]

Receives OpenAI's batch webhooks (batch.completed, batch.failed, batch.expired, batch.cancelled)
and wakes the chunk workflow waiting for that batch, so that its results are collected within
seconds. Register http(s)://<this host>:<port>/ as a webhook endpoint in the OpenAI dashboard
(project settings, Webhooks) and start jobs with wait.webhooks: true to poll less.

Environment:
  OPENAI_WEBHOOK_SECRET   the endpoint's signing secret (whsec_..., required)
  OPENAI_API_KEY, OPENAI_BASE_URL   to look up which job owns a batch
  TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*   where the jobs run

Options:
  --port <n>         port to listen on (required; 0 picks a free one)
  --host <addr>      interface to bind (default: 0.0.0.0)
  -h, --help         show this help
`;

async function run(argv: readonly string[]): Promise<number> {
  const { values } = parseFlags('webhooks', argv, { port: { type: 'string' }, host: { type: 'string' } });
  const port = parsePort('port', values.port);
  if (port === undefined) throw new UserError('--port is required', 'e.g. `openai-batch webhooks --port 8788`');
  if (!process.env['OPENAI_WEBHOOK_SECRET'])
    throw new UserError(
      'OPENAI_WEBHOOK_SECRET is not set: deliveries cannot be verified',
      'set it to the signing secret (whsec_...) the OpenAI dashboard showed when you created the endpoint',
    );
  if (!process.env['OPENAI_API_KEY'] && !process.env['OPENAI_BASE_URL'])
    throw new UserError(
      'no OPENAI_API_KEY and no OPENAI_BASE_URL: the receiver cannot look up which job owns a batch',
      'set OPENAI_API_KEY (the project the webhooks come from), or OPENAI_BASE_URL to the emulator',
    );
  const temporal = await connectFromEnvironment();
  const receiver = createWebhookReceiver({
    temporal: temporal.client,
    openai: createOpenAIClient({ timeoutMs: 10_000 }),
  });
  const server = createServer((req, res) => receiver.nodeHandler(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new UserError(`cannot listen on port ${port}: ${err.message}`)));
    server.listen(port, values.host ?? '0.0.0.0', () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  console.log(`webhook receiver listening on port ${bound} (Temporal at ${temporal.address})`);
  await new Promise<void>((done) => {
    process.once('SIGINT', () => done());
    process.once('SIGTERM', () => done());
  });
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await temporal.close();
  return 0;
}

/** `openai-batch webhooks`: the webhook receiver that wakes chunks when their batches end. */
export const webhooksCommand: Command = {
  name: 'webhooks',
  summary: "receive OpenAI's batch webhooks and wake the waiting chunks",
  usage,
  run,
};
