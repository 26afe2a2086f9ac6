import type { IncomingMessage } from 'node:http';

/** The body was over the cap: the request is answered 413 unread. */
export class BodyTooLargeError extends Error {}

/**
 * The request's raw body as text, refused as soon as it passes `maxBytes` (by its
 * `content-length` when it has one, else as it arrives). A body a framework already read as raw
 * bytes (`express.raw()`, a Fastify buffer parser) is taken from `req.body`.
 */
export async function readRawBody(req: IncomingMessage & { body?: unknown }, maxBytes: number): Promise<string> {
  const given = req.body;
  if (typeof given === 'string' || given instanceof Uint8Array) {
    const bytes = typeof given === 'string' ? Buffer.byteLength(given) : given.byteLength;
    if (bytes > maxBytes) throw new BodyTooLargeError(`body of ${bytes} bytes`);
    return typeof given === 'string' ? given : Buffer.from(given).toString('utf8');
  }
  if (given !== undefined && given !== null)
    throw new TypeError(
      'the request body was already parsed; mount the webhook handler with a raw body (e.g. express.raw({ type: "*/*" }))',
    );
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) throw new BodyTooLargeError(`content-length ${declared}`);
  const parts: Buffer[] = [];
  let total = 0;
  for await (const part of req as AsyncIterable<Buffer>) {
    total += part.byteLength;
    if (total > maxBytes) throw new BodyTooLargeError(`body over ${maxBytes} bytes`);
    parts.push(part);
  }
  return Buffer.concat(parts).toString('utf8');
}
