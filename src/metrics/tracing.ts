import { SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';
import { Resource } from '@opentelemetry/resources';
import { redactKeys } from '../openai/redact.ts';

/** The tracer of the project's own spans (the OpenAI calls). A no-op until an OpenTelemetry SDK is registered. */
const tracer = () => trace.getTracer('temporal-openai-batch');

/** The resource of a traced worker's workflow spans when the user gives none. */
export function tracingResource(): Resource {
  return new Resource({ 'service.name': 'temporal-openai-batch' });
}

/** The ids an OpenAI answer carries, as span attributes (a batch's id and status, a file's id). */
function resultAttributes(result: unknown): Attributes {
  if (typeof result !== 'object' || result === null) return {};
  const { object, id, status } = result as { object?: unknown; id?: unknown; status?: unknown };
  if (object === 'batch' && typeof id === 'string')
    return { 'openai.batch.id': id, ...(typeof status === 'string' ? { 'openai.batch.status': status } : {}) };
  if (object === 'file' && typeof id === 'string') return { 'openai.file.id': id };
  if (object === 'upload' && typeof id === 'string') return { 'openai.upload.id': id };
  return {};
}

/**
 * Runs one OpenAI call in a span `openai <action>` (a child of the activity's span when a context
 * manager is registered), with the ids it was given and the ids it returned as attributes.
 */
export async function tracedOpenAICall<T>(action: string, attributes: Attributes, call: () => Promise<T>): Promise<T> {
  return await tracer().startActiveSpan(`openai ${action}`, { attributes }, async (span) => {
    try {
      const result = await call();
      span.setAttributes(resultAttributes(result));
      return result;
    } catch (err) {
      span.setStatus({
        code: SpanStatusCode.ERROR,
        message: redactKeys(err instanceof Error ? err.message : String(err)),
      });
      throw err;
    } finally {
      span.end();
    }
  });
}
