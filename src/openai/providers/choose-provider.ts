import { PROVIDER_NAMES, PROVIDER_PROFILES, type ProviderName, type ProviderProfile } from './provider-profile.ts';

/**
 * The provider a worker talks to: the one named (plugin option `provider`, else env
 * `OPENAI_BATCH_PROVIDER`), else the one its base URL points at. Throws one line for a name
 * that is not a provider.
 */
export function chooseProvider(named: string | undefined, baseURL: string | undefined): ProviderProfile {
  const name = named?.trim();
  if (name) {
    if (!isProviderName(name)) throw new Error(unknownProviderMessage(name));
    return PROVIDER_PROFILES[name];
  }
  return PROVIDER_PROFILES[inferProvider(baseURL)];
}

/** The provider a base URL belongs to, by its host: Azure's two domains, Groq's, OpenAI's (or none), else `compatible`. */
export function inferProvider(baseURL: string | undefined): ProviderName {
  if (!baseURL) return 'openai';
  let host: string;
  try {
    host = new URL(baseURL).hostname.toLowerCase();
  } catch {
    // An unparsable URL is refused, with its own message, where the client is built.
    return 'compatible';
  }
  if (host.endsWith('.openai.azure.com') || host.endsWith('.cognitiveservices.azure.com')) return 'azure';
  if (host === 'api.groq.com') return 'groq';
  if (host === 'api.openai.com') return 'openai';
  return 'compatible';
}

export function isProviderName(value: string): value is ProviderName {
  return (PROVIDER_NAMES as readonly string[]).includes(value);
}

function unknownProviderMessage(name: string): string {
  return (
    `provider (OPENAI_BATCH_PROVIDER or the plugin's provider) is "${name.slice(0, 40)}"; ` +
    `set it to one of ${PROVIDER_NAMES.join(', ')}, or leave it unset to infer it from the base URL.`
  );
}
