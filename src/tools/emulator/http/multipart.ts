import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { ApiError } from './api-error.ts';

/** What a streamed multipart upload left behind: small text fields, and at most one file on disk. */
export interface MultipartResult {
  fields: Record<string, string>;
  file: { field: string; filename: string; bytes: number; path: string } | null;
}

const MAX_FIELD_BYTES = 64 * 1024;
const MAX_HEADER_BYTES = 16 * 1024;

/** The boundary of a `multipart/form-data` content type, or a 400 shaped like OpenAI's. */
export function multipartBoundary(contentType: string | undefined): string {
  const match = /^multipart\/form-data\s*;.*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  const boundary = match?.[1] ?? match?.[2];
  if (!boundary) {
    throw new ApiError(400, 'Invalid Content-Type header (), expected multipart/form-data.', { param: null });
  }
  return boundary;
}

/**
 * Parses a multipart body as it arrives: text fields are kept (they are small), the file part is
 * written straight to `filePath` with backpressure, so a 200 MB upload never sits in memory.
 * Only the file part named `fileField` is written; a second one is refused.
 */
export async function parseMultipart(
  req: IncomingMessage,
  boundary: string,
  filePath: string,
  maxFileBytes: number,
  fileField = 'file',
): Promise<MultipartResult> {
  const opening = Buffer.from(`--${boundary}`);
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  const fields: Record<string, string> = {};
  let file: MultipartResult['file'] = null;
  let out: WriteStream | null = null;
  let state: 'preamble' | 'headers' | 'body' | 'after' | 'done' = 'preamble';
  let pending: Buffer = Buffer.alloc(0);
  let part: { name: string; filename: string | null; chunks: Buffer[]; bytes: number } | null = null;

  const emit = async (data: Buffer): Promise<void> => {
    if (!part || data.length === 0) return;
    part.bytes += data.length;
    if (part.filename !== null && part.name === fileField) {
      if (part.bytes > maxFileBytes) {
        throw new ApiError(400, `File is too large. The maximum file size is ${maxFileBytes} bytes.`, {
          param: fileField,
        });
      }
      if (out && !out.write(data)) await once(out, 'drain');
    } else {
      if (part.bytes > MAX_FIELD_BYTES) throw new ApiError(400, `Form field '${part.name}' is too large.`);
      part.chunks.push(Buffer.from(data));
    }
  };

  const endPart = async (): Promise<void> => {
    if (!part) return;
    if (part.filename !== null && part.name === fileField) {
      if (out) {
        out.end();
        await once(out, 'close');
        out = null;
      }
      file = { field: part.name, filename: part.filename, bytes: part.bytes, path: filePath };
    } else {
      fields[part.name] = Buffer.concat(part.chunks).toString('utf8');
    }
    part = null;
  };

  const startPart = (headerText: string): void => {
    const disposition = /content-disposition:\s*form-data(.*)/i.exec(headerText)?.[1] ?? '';
    const name = /\bname="([^"]*)"/i.exec(disposition)?.[1] ?? '';
    const filenameMatch = /\bfilename="([^"]*)"/i.exec(disposition);
    const filename = filenameMatch ? (filenameMatch[1] ?? '') : null;
    if (filename !== null && name === fileField) {
      if (file !== null || out !== null)
        throw new ApiError(400, 'Only one file may be uploaded per request.', { param: fileField });
      out = createWriteStream(filePath);
    }
    part = { name, filename, chunks: [], bytes: 0 };
  };

  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      // Each pass consumes what it can; the loop stops when more bytes are needed.
      for (;;) {
        if (state === 'preamble') {
          const at = pending.indexOf(opening);
          if (at < 0) {
            pending = pending.subarray(Math.max(0, pending.length - opening.length));
            break;
          }
          pending = pending.subarray(at + opening.length);
          state = 'after';
        } else if (state === 'after') {
          if (pending.length < 2) break;
          if (pending[0] === 0x2d && pending[1] === 0x2d) {
            state = 'done';
            pending = Buffer.alloc(0);
            break;
          }
          const lineEnd = pending.indexOf('\r\n');
          if (lineEnd < 0) break;
          pending = pending.subarray(lineEnd + 2);
          state = 'headers';
        } else if (state === 'headers') {
          const end = pending.indexOf('\r\n\r\n');
          if (end < 0) {
            if (pending.length > MAX_HEADER_BYTES) throw new ApiError(400, 'Malformed multipart body.');
            break;
          }
          startPart(pending.subarray(0, end).toString('utf8'));
          pending = pending.subarray(end + 4);
          state = 'body';
        } else if (state === 'body') {
          const at = pending.indexOf(delimiter);
          if (at < 0) {
            // Keep only a tail that could be the start of a delimiter split across chunks.
            const safe = Math.max(0, pending.length - (delimiter.length - 1));
            await emit(pending.subarray(0, safe));
            pending = pending.subarray(safe);
            break;
          }
          // A real delimiter is followed by CRLF or "--"; anything else is content that merely
          // looks like one.
          const after = at + delimiter.length;
          if (pending.length < after + 2) {
            await emit(pending.subarray(0, at));
            pending = pending.subarray(at);
            break;
          }
          const next = pending.subarray(after, after + 2).toString('latin1');
          if (next !== '\r\n' && next !== '--') {
            await emit(pending.subarray(0, at + 1));
            pending = pending.subarray(at + 1);
            continue;
          }
          await emit(pending.subarray(0, at));
          await endPart();
          pending = pending.subarray(after);
          state = 'after';
        } else {
          pending = Buffer.alloc(0);
          break;
        }
      }
      // Copy the small remainder so the big chunk it points into can be collected.
      if (pending.length > 0 && pending.length < 4096) pending = Buffer.from(pending);
    }
  } catch (err) {
    (out as WriteStream | null)?.destroy();
    throw err;
  }
  if (state !== 'done') {
    (out as WriteStream | null)?.destroy();
    throw new ApiError(400, 'Malformed multipart body: the closing boundary is missing.');
  }
  return { fields, file };
}
