import { Client, Connection } from '@temporalio/client';
import { loadWorkerConfig } from '../../worker-config.ts';
import { UserError } from './user-error.ts';

/** A client on the Temporal server the environment names (TEMPORAL_ADDRESS, profiles, TLS, API key). */
export async function connectFromEnvironment(): Promise<{
  client: Client;
  taskQueue: string;
  address: string;
  close(): Promise<void>;
}> {
  const config = loadWorkerConfig();
  const address = config.connection.address ?? 'localhost:7233';
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...config.connection, address, connectTimeout: 5_000 });
  } catch (err) {
    throw new UserError(
      `cannot reach Temporal at ${address}: ${err instanceof Error ? err.message : String(err)}`,
      CONNECT_HINT,
    );
  }
  return {
    client: new Client({ connection, namespace: config.namespace }),
    taskQueue: config.taskQueue,
    address,
    close: () => connection.close(),
  };
}

const CONNECT_HINT =
  'set TEMPORAL_ADDRESS (and TEMPORAL_NAMESPACE, TEMPORAL_API_KEY for Temporal Cloud), ' +
  'or use `openai-batch run`, which starts a dev server';
