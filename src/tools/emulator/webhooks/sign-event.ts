import { createHmac, randomUUID } from 'node:crypto';

/** The headers of one delivery attempt, signed by the Standard Webhooks scheme OpenAI uses. */
export function signDelivery(
  secret: string,
  webhookId: string,
  body: string,
  nowMs = Date.now(),
): Record<string, string> {
  const timestamp = String(Math.floor(nowMs / 1000));
  const key = secret.startsWith('whsec_') ? Buffer.from(secret.slice('whsec_'.length), 'base64') : Buffer.from(secret);
  const signature = createHmac('sha256', key).update(`${webhookId}.${timestamp}.${body}`).digest('base64');
  return {
    'content-type': 'application/json',
    'user-agent': 'OpenAI/1.0 (+https://platform.openai.com/docs/webhooks) emulator',
    'webhook-id': webhookId,
    'webhook-timestamp': timestamp,
    'webhook-signature': `v1,${signature}`,
  };
}

/** A new `webhook-id`, shaped as OpenAI's (`wh_…`). */
export function newWebhookId(): string {
  return `wh_${randomUUID().replaceAll('-', '')}`;
}

/** A new event id (`evt_…`). */
export function newEventId(): string {
  return `evt_${randomUUID().replaceAll('-', '')}`;
}
