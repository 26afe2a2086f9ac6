import OpenAI from 'openai';
import { startEmulator } from '../src/index.ts';

/** The emulator on a free port, and an OpenAI client that talks to it; call `emulator.stop()` when done. */
export async function emulatorClient(stateDir: string) {
  const emulator = await startEmulator({ port: 0, stateDir, config: { rowsPerSecond: 'instant' } });
  const client = new OpenAI({ baseURL: emulator.baseURL, apiKey: 'anything' });
  return { emulator, client };
}
