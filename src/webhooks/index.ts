export { BATCH_END_EVENTS, createWebhookReceiver } from './receiver.ts';
export type {
  RejectReason,
  WebhookCounters,
  WebhookReceiver,
  WebhookReceiverOptions,
  WebhookResponse,
} from './receiver.ts';
export type { SignalOutcome } from './find-chunk.ts';
