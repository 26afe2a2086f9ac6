import type { EmulatorConfig } from '../config.ts';

/**
 * The credential of an Azure call, or undefined when Azure would refuse it: an `api-key` header
 * (checked against `apiKeys`, when set) or an Entra ID `Authorization: Bearer` token (checked
 * against `azure.entraTokens`, when set; any non-empty token otherwise).
 */
export function azureCredential(
  config: EmulatorConfig,
  apiKeyHeader: string | string[] | undefined,
  bearer: string | undefined,
): string | undefined {
  const apiKey = typeof apiKeyHeader === 'string' ? apiKeyHeader.trim() : undefined;
  if (apiKey) return config.apiKeys.length === 0 || config.apiKeys.includes(apiKey) ? apiKey : undefined;
  if (!bearer) return undefined;
  const tokens = config.azure?.entraTokens ?? [];
  return tokens.length === 0 || tokens.includes(bearer) ? bearer : undefined;
}
