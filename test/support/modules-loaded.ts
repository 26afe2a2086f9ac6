import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/**
 * Imports a module in a fresh Node process and lists every module URL it loaded. `modulePath` is
 * relative to a folder of test/ (`../../src/...`, as the test files under test/unit name it).
 */
export async function modulesLoadedBy(modulePath: string): Promise<string[]> {
  const script = `
import { registerHooks } from 'node:module';
const loaded = [];
registerHooks({ load(url, context, next) { loaded.push(url); return next(url, context); } });
await import(${JSON.stringify(new URL(modulePath, import.meta.url).href)});
console.log(JSON.stringify(loaded));
`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
    maxBuffer: 64 << 20,
  });
  return JSON.parse(stdout) as string[];
}
