import type { TestProject } from 'vitest/node';
import { startDevServer, type DevServer } from '../../src/tools/devserver/start-dev-server.ts';
import { findS3Server } from '../../src/tools/devserver/find-s3-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    temporalNamespace: string;
    temporalUiUrl: string;
  }
}

let server: DevServer | undefined;

/**
 * One real Temporal dev server (built from Go when no binary is cached) for the whole run. If it
 * cannot start, the run fails here: no test runs against a missing server.
 */
export async function setup(project: TestProject): Promise<void> {
  // Find (or build once, into the cache) the MinIO binary first, so that the S3 test files, which
  // each start their own server, never race to build it.
  await findS3Server({ onProgress: (line) => console.log(`[s3] ${line}`) });
  server = await startDevServer({ ui: true, onProgress: (line) => console.log(`[temporal] ${line}`) });
  if (!server.uiUrl) throw new Error('the dev server started without its Web UI');
  project.provide('temporalAddress', server.address);
  project.provide('temporalNamespace', server.namespace);
  project.provide('temporalUiUrl', server.uiUrl);
}

export async function teardown(): Promise<void> {
  await server?.stop();
}
