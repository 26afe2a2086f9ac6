import type { WorkerHealth } from '../common/health-types.ts';

/** What the health check reports; the API key itself is never among it. */
export interface WorkerHealthConfig {
  readonly openaiBaseUrl?: string | undefined;
  readonly apiKeyConfigured: boolean;
  readonly storageRoot: string;
  /** The provider profile in force (named or inferred). */
  readonly provider?: string | undefined;
}

const DEFAULT_BASE_URL = 'https://api.openai.com/v1';

/**
 * A URL as it may appear in workflow history: scheme, host and port, and the path with every
 * segment that could be a credential replaced by `***`. Userinfo, the query and the fragment are
 * dropped whole (gateways put keys in all three). A plain filesystem path passes through.
 */
export function redactUrl(value: string): string {
  if (value.startsWith('/') || value.startsWith('.')) return value;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return '(unparseable URL)';
  }
  const origin = url.host ? `${url.protocol}//${url.host}` : `${url.protocol}`;
  return `${origin}${redactPath(url.pathname === '/' && !value.endsWith('/') ? '' : url.pathname)}`;
}

function redactPath(path: string): string {
  return path
    .split('/')
    .map((segment) => (looksLikeToken(decodeSafely(segment)) ? '***' : segment))
    .join('/');
}

function decodeSafely(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * A path segment that may carry a secret: long, digit-heavy, a key's usual prefix, or anything
 * outside plain words. `v1`, `openai`, `deployments`, `my-resource` stay readable.
 */
function looksLikeToken(segment: string): boolean {
  if (segment === '') return false;
  if (segment.length > 24) return true;
  if (/^(sk|pk|rk|key|tok|token|sess|bearer)[-_]/i.test(segment)) return true;
  if (!/^[A-Za-z0-9._-]+$/.test(segment)) return true;
  const digits = segment.replace(/\D/g, '').length;
  return digits >= 4 || (segment.length >= 12 && digits > 0 && /[A-Za-z]/.test(segment));
}

/** The `checkWorkerHealth` activity: what this worker is configured with, secrets redacted. */
export function createWorkerHealthActivities(config: WorkerHealthConfig) {
  return {
    /** Reports what this worker is configured with, so that an operator can check a deployment. */
    checkWorkerHealth(): Promise<WorkerHealth> {
      return Promise.resolve({
        openaiBaseUrl: redactUrl(config.openaiBaseUrl ?? DEFAULT_BASE_URL),
        apiKeyConfigured: config.apiKeyConfigured,
        storageRoot: redactUrl(config.storageRoot),
        nodeVersion: process.version,
        ...(config.provider ? { provider: config.provider } : {}),
      });
    },
  };
}
