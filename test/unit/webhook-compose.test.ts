import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadWorkerConfig } from '../../src/worker-config.ts';
import { parseFlags, parsePort } from '../../src/tools/cli/parse-flags.ts';
import { webhooksCommand } from '../../src/tools/cli/commands/webhooks.ts';

interface Service {
  build?: string;
  profiles?: string[];
  command?: string[];
  ports?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
}

const root = new URL('../../', import.meta.url);
const compose = parse(await readFile(new URL('docker-compose.yml', root), 'utf8')) as {
  services: Record<string, Service>;
};

describe('docker-compose.yml runs the webhook receiver (validated here: no Docker engine on these machines)', () => {
  const receiver = compose.services['webhooks'] as Service;

  it('builds the project image and runs `openai-batch webhooks` on the port it publishes', () => {
    expect(receiver.build).toBe('.');
    const [node, bin, command, ...flags] = receiver.command ?? [];
    expect([node, bin, command]).toEqual(['node', 'bin/openai-batch.js', webhooksCommand.name]);
    const { values } = parseFlags('webhooks', flags, { port: { type: 'string' }, host: { type: 'string' } });
    const port = parsePort('port', values.port);
    expect(receiver.ports).toEqual([`${port}:${port}`]);
  });

  it('starts only with its profile, after the search attributes exist, and restarts', () => {
    expect(receiver.profiles).toEqual(['webhooks']);
    expect(receiver.depends_on?.['temporal-setup']?.condition).toBe('service_completed_successfully');
  });

  it('takes the secret and the API key from the environment (no literal), and reaches Temporal', () => {
    const env = receiver.environment ?? {};
    for (const name of ['OPENAI_WEBHOOK_SECRET', 'OPENAI_API_KEY', 'OPENAI_BASE_URL'])
      expect(env[name], name).toBe(`\${${name}:-}`);
    // Every variable the command's help names is set.
    for (const name of ['OPENAI_WEBHOOK_SECRET', 'OPENAI_API_KEY', 'TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE'])
      expect(webhooksCommand.usage).toContain(name);
    const config = loadWorkerConfig({ ...env, TEMPORAL_CONFIG_FILE: '/nonexistent/temporal.toml' });
    expect(config.connection.address).toBe('temporal:7233');
  });

  it('the image copies every source folder the receiver imports', async () => {
    const dockerfile = await readFile(new URL('Dockerfile', root), 'utf8');
    for (const folder of ['src', 'common', 'bin']) expect(dockerfile).toMatch(new RegExp(`^COPY ${folder} `, 'm'));
  });
});
