import { defineSearchAttributeKey } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { SEARCH_ATTRIBUTE_KEYS } from '../../../common/search-attributes.ts';
import type { DevServer, DevServerOptions } from './start-dev-server.ts';

/**
 * Last resort where there is internet: the SDK downloads and starts the CLI itself. Kept in its own
 * module so that the common path never loads the testing package.
 */
export async function startWithSdkDownload(options: DevServerOptions): Promise<DevServer> {
  const ui = options.ui ?? true;
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      ip: options.ip ?? '127.0.0.1',
      namespace: options.namespace ?? 'default',
      ui,
      ...(options.port !== undefined ? { port: options.port } : {}),
      ...(ui && options.uiPort !== undefined ? { uiPort: options.uiPort } : {}),
      ...(options.dbFilename !== undefined ? { dbFilename: options.dbFilename } : {}),
      searchAttributes: (options.searchAttributes ?? SEARCH_ATTRIBUTE_KEYS).map((k) =>
        defineSearchAttributeKey(k.name, k.type),
      ),
    },
  });
  const address = env.address;
  const port = Number(address.split(':').pop());
  const uiPort = options.uiPort ?? port + 1000;
  let stopped = false;
  return {
    address,
    namespace: options.namespace ?? 'default',
    uiUrl: ui ? `http://${options.ip ?? '127.0.0.1'}:${uiPort}` : undefined,
    source: 'sdk-download',
    async stop() {
      if (stopped) return;
      stopped = true;
      await env.teardown();
    },
  };
}
