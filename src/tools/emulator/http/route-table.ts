import type { RouteName } from '../config.ts';
import { cancelBatch, createBatch, listBatches, retrieveBatch } from '../routes/batches.ts';
import { getConfig, inventory, postConfig, stats } from '../routes/control.ts';
import { createFile, deleteFile, fileContent, listFiles, retrieveFile } from '../routes/files.ts';
import type { RouteHandler } from '../routes/route-context.ts';
import { addUploadPart, cancelUpload, completeUpload, createUpload } from '../routes/uploads.ts';

interface Route {
  method: string;
  pattern: RegExp;
  handler: RouteHandler;
}

/** The OpenAI routes, named as the SDK's methods are; faults and counters key on these names. */
export const API_ROUTES: readonly (Route & { name: RouteName })[] = [
  { method: 'POST', pattern: /^\/v1\/files$/, name: 'files.create', handler: createFile },
  { method: 'GET', pattern: /^\/v1\/files$/, name: 'files.list', handler: listFiles },
  { method: 'GET', pattern: /^\/v1\/files\/([^/]+)$/, name: 'files.retrieve', handler: retrieveFile },
  { method: 'GET', pattern: /^\/v1\/files\/([^/]+)\/content$/, name: 'files.content', handler: fileContent },
  { method: 'DELETE', pattern: /^\/v1\/files\/([^/]+)$/, name: 'files.delete', handler: deleteFile },
  { method: 'POST', pattern: /^\/v1\/batches$/, name: 'batches.create', handler: createBatch },
  { method: 'GET', pattern: /^\/v1\/batches$/, name: 'batches.list', handler: listBatches },
  { method: 'GET', pattern: /^\/v1\/batches\/([^/]+)$/, name: 'batches.retrieve', handler: retrieveBatch },
  { method: 'POST', pattern: /^\/v1\/batches\/([^/]+)\/cancel$/, name: 'batches.cancel', handler: cancelBatch },
  { method: 'POST', pattern: /^\/v1\/uploads$/, name: 'uploads.create', handler: createUpload },
  { method: 'POST', pattern: /^\/v1\/uploads\/([^/]+)\/parts$/, name: 'uploads.parts.create', handler: addUploadPart },
  { method: 'POST', pattern: /^\/v1\/uploads\/([^/]+)\/complete$/, name: 'uploads.complete', handler: completeUpload },
  { method: 'POST', pattern: /^\/v1\/uploads\/([^/]+)\/cancel$/, name: 'uploads.cancel', handler: cancelUpload },
];

/** Routes for tests and benchmarks, outside `/v1`: no auth, no faults. */
export const CONTROL_ROUTES: readonly Route[] = [
  { method: 'GET', pattern: /^\/_emulator\/stats$/, handler: stats },
  { method: 'GET', pattern: /^\/_emulator\/inventory$/, handler: inventory },
  { method: 'GET', pattern: /^\/_emulator\/config$/, handler: getConfig },
  { method: 'POST', pattern: /^\/_emulator\/config$/, handler: postConfig },
];

export function matchRoute<R extends Route>(
  routes: readonly R[],
  method: string,
  path: string,
): { route: R; id: string } | null {
  for (const route of routes) {
    if (route.method !== method) continue;
    const match = route.pattern.exec(path);
    if (match) return { route, id: decodeURIComponent(match[1] ?? '') };
  }
  return null;
}
