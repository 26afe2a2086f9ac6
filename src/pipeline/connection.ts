import { ApplicationFailure } from '@temporalio/common';
import pg from 'pg';
import { FAILURE_TYPES } from '../../common/failures.ts';

/** The connection a pipeline uses when its input names none. */
export const DEFAULT_PG_CONNECTION = 'OPENAI_BATCH_PG_URL';

/** Named connections of a worker: a `postgres://` URL or a `pg` client config each. */
export type PostgresConnections = Readonly<Record<string, string | pg.ClientConfig>>;

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,99}$/;

/**
 * The client config for a connection name: the worker's named connection, else the environment
 * variable of that name, else (for the default name only) the libpq variables `pg` reads itself.
 * A name that looks like a connection string is refused: it would have put credentials in history.
 */
export function resolveConnection(
  name: string | undefined,
  named: PostgresConnections = {},
  env: NodeJS.ProcessEnv = process.env,
): pg.ClientConfig {
  const key = name ?? DEFAULT_PG_CONNECTION;
  if (!NAME.test(key))
    throw ApplicationFailure.create({
      message:
        `connection "${key.includes('://') ? '<a connection string>' : key}" is not a connection name: ` +
        `name an environment variable or a worker's postgresConnections entry (e.g. ${DEFAULT_PG_CONNECTION}), ` +
        'never a connection string, which would land in workflow history',
      type: FAILURE_TYPES.config,
      nonRetryable: true,
    });
  const config = named[key] ?? env[key];
  if (typeof config === 'string' && config !== '') return { connectionString: config };
  if (config && typeof config === 'object') return config;
  if (name === undefined || key === DEFAULT_PG_CONNECTION) return {}; // PGHOST, PGUSER, ... (pg reads them)
  throw ApplicationFailure.create({
    message: `no Postgres connection named "${key}" on this worker: set the environment variable ${key} to a postgres:// URL or add it to the plugin's postgresConnections`,
    type: FAILURE_TYPES.config,
    nonRetryable: true,
  });
}

/** Connects, mapping refused credentials and unknown databases to one clear, non-retried line. */
export async function connect(config: pg.ClientConfig, connectionName: string | undefined): Promise<pg.Client> {
  const client = new pg.Client({ ...config, application_name: 'temporal-openai-batch' });
  // A lost connection also fails the running query; without a listener the event would kill the worker.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw pgFailure(err, `connecting to Postgres (${connectionName ?? DEFAULT_PG_CONNECTION})`);
  }
  return client;
}

// SQLSTATEs that no retry fixes: classes 28 (credentials), 3D (no such database), 42 (syntax, names,
// privileges), 22 (data), 23 (constraints), and 08P01, which is what a query given the wrong number
// of parameters gets.
const FIXED_BY_USER = /^(28|3D|42|22|23|08P01)/;

/**
 * A Postgres error as an ApplicationFailure: non-retryable with the server's message when the
 * user must fix something, retryable otherwise (connections lost, serialization, shutdown). The
 * message never carries the connection string or password.
 */
export function pgFailure(err: unknown, doing: string): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const e = err as { code?: unknown; message?: unknown; position?: unknown };
  const code = typeof e.code === 'string' ? e.code : undefined;
  const message = `${doing}: ${typeof e.message === 'string' ? e.message : String(err)}${code ? ` (SQLSTATE ${code})` : ''}`;
  if (code && FIXED_BY_USER.test(code))
    return ApplicationFailure.create({
      message,
      type: code.startsWith('28') || code.startsWith('3D') ? FAILURE_TYPES.config : FAILURE_TYPES.invalidInput,
      nonRetryable: true,
    });
  return ApplicationFailure.create({ message, type: FAILURE_TYPES.connection, nonRetryable: false });
}
