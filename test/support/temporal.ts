import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { inject } from 'vitest';

/** The run's dev server, started by the global setup. */
export function devServer(): { address: string; namespace: string; uiUrl: string } {
  return { address: inject('temporalAddress'), namespace: inject('temporalNamespace'), uiUrl: inject('temporalUiUrl') };
}

/** A client and a worker connection to the run's dev server; call `close()` in `afterAll`. */
export async function connectToDevServer(): Promise<{
  client: Client;
  nativeConnection: NativeConnection;
  close: () => Promise<void>;
}> {
  const { address, namespace } = devServer();
  const connection = await Connection.connect({ address });
  const nativeConnection = await NativeConnection.connect({ address });
  return {
    client: new Client({ connection, namespace }),
    nativeConnection,
    async close() {
      await connection.close();
      await nativeConnection.close();
    },
  };
}

/** A task queue no other test file uses, so that workers of parallel files never steal tasks. */
export function uniqueTaskQueue(name: string): string {
  return `${name}-${process.pid}-${Date.now().toString(36)}`;
}
