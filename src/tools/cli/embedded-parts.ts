import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { startDevServer } from '../devserver/start-dev-server.ts';

/** The Temporal server and OpenAI endpoint a local command uses, real or embedded. */
export interface Parts {
  readonly temporalAddress: string | undefined;
  readonly temporalUiUrl: string | undefined;
  readonly openaiBaseUrl: string | undefined;
  readonly openaiApiKey: string | undefined;
  /** True when the OpenAI side is the local emulator. */
  readonly embeddedEmulator: boolean;
  /** One line per part: which is real and which embedded. */
  readonly description: readonly string[];
  stop(): Promise<void>;
}

/**
 * The task queue of a command's in-process worker: the one asked for, else the default; with the
 * embedded emulator, one of the run's own (`<default>-<runId>`). Another `run` or `enrich` on the
 * same Temporal server has another emulator: on a shared queue each worker would take the other's
 * activities, uploading to one emulator and creating the batch on the other.
 */
export function inProcessTaskQueue(
  asked: string | undefined,
  parts: Pick<Parts, 'embeddedEmulator'>,
  runId: string,
  defaultQueue: string,
): string {
  return asked ?? (parts.embeddedEmulator ? `${defaultQueue}-${runId}` : defaultQueue);
}

/**
 * Uses the Temporal server of TEMPORAL_ADDRESS and the OpenAI of OPENAI_API_KEY/OPENAI_BASE_URL when
 * they are set; otherwise starts a dev server (with UI, state kept in `workDir`) and the emulator.
 */
export async function startParts(
  workDir: string,
  options: {
    emulatorRowsPerSecond?: number | 'instant';
    /** gRPC and UI ports of the dev server (default: free ports). */
    port?: number | undefined;
    uiPort?: number | undefined;
    /** The dev server's SQLite file. @default `<workDir>/dev-server.sqlite` */
    dbFilename?: string | undefined;
    /** The emulator's port. @default a free port */
    emulatorPort?: number | undefined;
    /** Where the emulator keeps its files and batches. @default `<workDir>/emulator` */
    emulatorStateDir?: string | undefined;
  } = {},
): Promise<Parts> {
  const stops: (() => Promise<void>)[] = [];
  const description: string[] = [];
  const stop = async (): Promise<void> => {
    for (const s of stops.reverse()) await s();
  };
  try {
    await mkdir(workDir, { recursive: true });
    let temporalAddress = process.env['TEMPORAL_ADDRESS'] || undefined;
    let temporalUiUrl: string | undefined;
    if (temporalAddress) {
      description.push(`Temporal: ${temporalAddress} (real, from TEMPORAL_ADDRESS)`);
    } else {
      // The first start on a new machine may build the Temporal CLI with Go (minutes): say so.
      const server = await startDevServer({
        ui: true,
        dbFilename: resolve(options.dbFilename ?? join(workDir, 'dev-server.sqlite')),
        ...(options.port !== undefined ? { port: options.port } : {}),
        ...(options.uiPort !== undefined ? { uiPort: options.uiPort } : {}),
        onProgress: (line) => {
          if (line.includes('building')) console.log(line);
        },
      });
      stops.push(() => server.stop());
      temporalAddress = server.address;
      temporalUiUrl = server.uiUrl;
      description.push(embeddedTemporalLine(server.address, server.uiUrl));
    }
    let openaiBaseUrl = process.env['OPENAI_BASE_URL'] || undefined;
    let openaiApiKey = process.env['OPENAI_API_KEY'] || undefined;
    const embeddedEmulator = !openaiApiKey && !openaiBaseUrl;
    if (openaiApiKey || openaiBaseUrl) {
      description.push(realOpenAILine(openaiBaseUrl, openaiApiKey));
    } else {
      // Imported here, not at the top: the emulator's modules (its token counter's rank tables
      // among them) cost ~60 MB of the worker's process, and a run against a real or separate
      // OpenAI endpoint has no use for them.
      const { startEmulator } = await import('../emulator/index.ts');
      const emulator = await startEmulator({
        port: options.emulatorPort ?? 0,
        stateDir: options.emulatorStateDir ?? join(workDir, 'emulator'),
        config: { rowsPerSecond: options.emulatorRowsPerSecond ?? 2_000, validatingSeconds: 1, finalizingSeconds: 1 },
      });
      stops.push(() => emulator.stop());
      openaiBaseUrl = emulator.baseURL;
      openaiApiKey = 'emulator-key-not-a-secret';
      description.push(
        `OpenAI: embedded emulator at ${emulator.baseURL} (no OPENAI_API_KEY or OPENAI_BASE_URL set; no money spent)`,
      );
    }
    return { temporalAddress, temporalUiUrl, openaiBaseUrl, openaiApiKey, embeddedEmulator, description, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function embeddedTemporalLine(address: string, uiUrl: string | undefined): string {
  return `Temporal: embedded dev server at ${address}, Web UI ${uiUrl ?? 'off'} (TEMPORAL_ADDRESS not set)`;
}

function realOpenAILine(openaiBaseUrl: string | undefined, openaiApiKey: string | undefined): string {
  const from = [openaiBaseUrl ? 'OPENAI_BASE_URL' : '', openaiApiKey ? 'OPENAI_API_KEY' : ''].filter(Boolean);
  return `OpenAI: ${openaiBaseUrl ?? 'https://api.openai.com/v1'} (from ${from.join(' and ')})`;
}
