import { z } from 'zod';

const rate = z.number().min(0).max(1);

/** How the emulator delivers batch webhooks (`webhooks` in the emulator config). */
export const webhookConfigSchema = z.strictObject({
  /** Where events are POSTed; `null` (the default) delivers nothing (events are still recorded). */
  url: z.string().url().nullable(),
  /** The endpoint's signing secret, `whsec_<base64>` as OpenAI shows it, or any text. */
  secret: z.string().min(1),
  /** Share of events delivered twice, with the same `webhook-id` (at-least-once delivery). */
  duplicateRate: rate,
  /** Share of events never delivered (the receiver must fall back to polling). */
  lostRate: rate,
  /** Milliseconds added before the first attempt, on `delayRate` of the events. */
  delayMs: z.number().int().min(0),
  /** Share of events that get `delayMs`; defaults to all of them. */
  delayRate: rate,
  /** Events that become due within this window are sent newest first (no guaranteed order). */
  reorderWindowMs: z.number().int().min(0),
  /** Waits before each retry of a delivery answered non-2xx or not at all; its length is the retries. */
  retryDelaysMs: z.array(z.number().int().min(0)).max(50),
  /** An attempt with no answer after this long counts as failed. */
  timeoutMs: z.number().int().positive(),
});
export type WebhookConfig = z.infer<typeof webhookConfigSchema>;

/** A secret for local use only (`whsec_` + base64 of 24 fixed bytes); never one of OpenAI's. */
export const EMULATOR_WEBHOOK_SECRET = `whsec_${Buffer.from('emulator-webhook-secret!').toString('base64')}`;

export const DEFAULT_WEBHOOK_CONFIG: WebhookConfig = {
  url: null,
  secret: EMULATOR_WEBHOOK_SECRET,
  duplicateRate: 0,
  lostRate: 0,
  delayMs: 0,
  delayRate: 1,
  reorderWindowMs: 0,
  retryDelaysMs: [1_000, 5_000, 30_000],
  timeoutMs: 5_000,
};

/** A partial `webhooks` config, merged key by key. */
export const webhookConfigPatchSchema = webhookConfigSchema.partial();

/** The config as the control routes show it: the secret masked. */
export function maskWebhookSecret<T extends { webhooks: WebhookConfig }>(config: T): T {
  return { ...config, webhooks: { ...config.webhooks, secret: '(set)' } };
}
