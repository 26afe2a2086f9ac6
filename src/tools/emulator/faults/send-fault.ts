import type { ServerResponse } from 'node:http';
import { sendJson } from '../http/respond.ts';
import type { FaultKind } from './choose-fault.ts';

/** Answers a call with an injected HTTP fault, in the shapes OpenAI and its edge proxy use. */
export function sendFault(
  res: ServerResponse,
  kind: Exclude<FaultKind, 'dropConnection' | 'dropAfterHandling'>,
  retryAfterSeconds: number,
  /** The caller's API key: a 401 quotes it masked, as OpenAI does. */
  apiKey: string,
): void {
  switch (kind) {
    case 'rateLimit':
      sendJson(
        res,
        429,
        {
          error: {
            message: 'Rate limit reached for requests. Please try again later.',
            type: 'requests',
            param: null,
            code: 'rate_limit_exceeded',
          },
        },
        {
          'retry-after': String(Math.ceil(retryAfterSeconds)),
          'retry-after-ms': String(Math.round(retryAfterSeconds * 1000)),
          'x-ratelimit-remaining-requests': '0',
        },
      );
      return;
    case 'unauthorized':
      sendJson(res, 401, {
        error: {
          message: incorrectKeyMessage(apiKey),
          type: 'invalid_request_error',
          param: null,
          code: 'invalid_api_key',
        },
      });
      return;
    case 'serverError':
      sendJson(res, 500, {
        error: {
          message: 'The server had an error while processing your request. Sorry about that!',
          type: 'server_error',
          param: null,
          code: null,
        },
      });
      return;
    case 'badGateway': {
      // A 502 comes from the edge proxy, as an HTML page, not from the API.
      res.writeHead(502, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(BAD_GATEWAY_HTML) });
      res.end(BAD_GATEWAY_HTML);
      return;
    }
    case 'serviceUnavailable':
      sendJson(res, 503, {
        error: {
          message: 'The engine is currently overloaded, please try again later.',
          type: 'server_error',
          param: null,
          code: null,
        },
      });
      return;
  }
}

/** OpenAI's 401 message for a key it does not accept: it quotes the key, masked. */
export function incorrectKeyMessage(key: string): string {
  return (
    `Incorrect API key provided: ${maskKey(key)}. ` +
    'You can find your API key at https://platform.openai.com/account/api-keys.'
  );
}

/** As OpenAI shows a wrong key: its prefix (`sk-proj-`), then stars and its last four characters. */
function maskKey(key: string): string {
  if (key.length <= 8) return '*'.repeat(key.length);
  const prefix = /^sk-(?:proj-|svcacct-|admin-)?/.exec(key)?.[0] ?? key.slice(0, 3);
  return `${prefix}${'*'.repeat(Math.max(4, Math.min(key.length - prefix.length - 4, 20)))}${key.slice(-4)}`;
}

/** The page Cloudflare serves for a 502, line by line. */
const BAD_GATEWAY_HTML = [
  '<html>',
  '<head><title>502 Bad Gateway</title></head>',
  '<body>',
  '<center><h1>502 Bad Gateway</h1></center>',
  '<hr><center>cloudflare</center>',
  '</body>',
  '</html>',
  '',
].join('\r\n');
