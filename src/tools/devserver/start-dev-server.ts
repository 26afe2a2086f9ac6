import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SearchAttributeType } from '@temporalio/common';
import { CLI_TYPE_NAMES } from '../../setup/search-attribute-setup.ts';
import { SEARCH_ATTRIBUTE_KEYS } from '../../../common/search-attributes.ts';
import { findTemporalCli, TemporalCliNotFoundError, type TemporalCliSource } from './find-temporal-cli.ts';
import { freePort } from './free-port.ts';
import { startServerBinary } from './start-server-binary.ts';
import { checkTemporalReady, checkUiReady } from './wait-until-ready.ts';

/** Options for {@link startDevServer}. */
export interface DevServerOptions {
  /** A `temporal` binary to use; otherwise {@link findTemporalCli} looks for one. */
  readonly cliPath?: string | undefined;
  /** Interface to bind. @default '127.0.0.1' */
  readonly ip?: string;
  /** gRPC port. @default a free port */
  readonly port?: number;
  /** Serve the Temporal Web UI. @default true */
  readonly ui?: boolean;
  /** Web UI port. @default a free port */
  readonly uiPort?: number;
  /** SQLite file that keeps the server's state. @default a file in a fresh temporary directory */
  readonly dbFilename?: string;
  /** Namespace to create. @default 'default' */
  readonly namespace?: string;
  /** Search attributes to register. @default the project's {@link SEARCH_ATTRIBUTE_KEYS} */
  readonly searchAttributes?: readonly SearchAttributeSpec[];
  /** How long to wait for a cold start; 2 slow cores can exceed the SDK's 5 s. @default 120000 */
  readonly readyTimeoutMs?: number;
  /** Fall back to the SDK's download when no binary is found (needs internet). @default true */
  readonly allowDownload?: boolean;
  /** Build the CLI with Go when no binary is found. @default true */
  readonly allowGoBuild?: boolean;
  /** One line per provisioning step. */
  readonly onProgress?: (line: string) => void;
}

/** A search attribute to register: the shape of `defineSearchAttributeKey`'s result. */
export interface SearchAttributeSpec {
  readonly name: string;
  readonly type: SearchAttributeType;
}

/** A running dev server. */
export interface DevServer {
  /** `host:port` for `Connection.connect` / `NativeConnection.connect`. */
  readonly address: string;
  readonly namespace: string;
  /** The Web UI's base URL, when the UI is on. */
  readonly uiUrl: string | undefined;
  /** Where the binary came from. */
  readonly source: TemporalCliSource | 'sdk-download';
  /** Stops the server and its process group; safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Starts a Temporal dev server (SQLite, optional Web UI, the project's search attributes) and
 * resolves once it really serves requests. The server runs in its own process group, and a watchdog
 * stops it if this process dies without calling `stop()`.
 */
export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const progress = options.onProgress ?? (() => undefined);
  let cli;
  try {
    cli = await findTemporalCli({
      explicitPath: options.cliPath,
      allowGoBuild: options.allowGoBuild ?? true,
      onProgress: progress,
    });
  } catch (err) {
    if (!(err instanceof TemporalCliNotFoundError) || options.allowDownload === false) throw err;
    progress('no local Temporal CLI; trying the Temporal SDK download (needs internet)');
    const { startWithSdkDownload } = await import('./sdk-download.ts');
    try {
      return await startWithSdkDownload(options);
    } catch (downloadErr) {
      throw new TemporalCliNotFoundError([...err.attempts, `SDK download: ${String(downloadErr)}`]);
    }
  }

  // A free port found here (or by the CLI, for its HTTP API) may be taken by another process
  // before the server binds it: with ports of its choosing, the start is tried again.
  const choosesPorts = options.port === undefined && (options.ui === false || options.uiPort === undefined);
  for (let attempt = 1; ; attempt++) {
    try {
      return await startWithCli(cli, options, progress);
    } catch (err) {
      if (!choosesPorts || attempt >= PORT_CLASH_ATTEMPTS || !/address already in use/.test(String(err))) throw err;
      progress(`a port was taken before the server bound it; starting again (attempt ${attempt + 1})`);
    }
  }
}

/** Starts the server at most this many times when a port it was given was taken meanwhile. */
const PORT_CLASH_ATTEMPTS = 3;

async function startWithCli(
  cli: Awaited<ReturnType<typeof findTemporalCli>>,
  options: DevServerOptions,
  progress: (line: string) => void,
): Promise<DevServer> {
  const ip = options.ip ?? '127.0.0.1';
  const namespace = options.namespace ?? 'default';
  const port = options.port ?? (await freePort(ip));
  const ui = options.ui ?? true;
  const uiPort = ui ? (options.uiPort ?? (await freePort(ip))) : undefined;
  const keys = options.searchAttributes ?? SEARCH_ATTRIBUTE_KEYS;
  let tempDir: string | undefined;
  let dbFilename = options.dbFilename;
  if (!dbFilename) {
    tempDir = await mkdtemp(join(tmpdir(), 'openai-batch-temporal-'));
    dbFilename = join(tempDir, 'temporal.sqlite');
  }
  const args = [
    'server',
    'start-dev',
    '--ip',
    ip,
    '--port',
    String(port),
    '--namespace',
    namespace,
    '--db-filename',
    dbFilename,
    '--log-level',
    'warn',
    '--dynamic-config-value',
    'frontend.enableUpdateWorkflowExecution=true',
    '--dynamic-config-value',
    'frontend.enableUpdateWorkflowExecutionAsyncAccepted=true',
    ...keys.flatMap((k) => ['--search-attribute', `${k.name}=${CLI_TYPE_NAMES[k.type]}`]),
    ...(uiPort === undefined ? ['--headless'] : ['--ui-port', String(uiPort), '--ui-ip', ip]),
  ];
  progress(
    `starting Temporal dev server (${cli.source}: ${cli.path}) on ${ip}:${port}${uiPort ? `, UI on ${uiPort}` : ''}`,
  );
  const address = `${ip}:${port}`;
  const uiUrl = uiPort === undefined ? undefined : `http://${ip}:${uiPort}`;
  const names = keys.map((k) => k.name);
  const { stop } = await startServerBinary({
    path: cli.path,
    args,
    name: 'the server',
    ready: [
      { what: `Temporal dev server at ${address}`, check: () => checkTemporalReady(address, namespace, names) },
      ...(uiUrl ? [{ what: `Temporal Web UI at ${uiUrl}`, check: () => checkUiReady(uiUrl) }] : []),
    ],
    readyTimeoutMs: options.readyTimeoutMs ?? 120_000,
    removeOnStop: tempDir,
  });
  progress(`Temporal dev server ready at ${address}${uiUrl ? `, Web UI ${uiUrl}` : ''}`);
  return { address, namespace, uiUrl, source: cli.source, stop };
}
