import { ApiError } from '../http/api-error.ts';

/** Azure's own error body, `{ error: { code, message } }`, as its gateway answers before the OpenAI service sees a call. */
export function azureError(status: number, code: string, message: string): ApiError {
  return new ApiError(status, message, { code, body: { error: { code, message } } });
}

/** What Azure answers for a path it has no resource for (including `/deployments/{d}/batches`). */
export function azureNotFound(): ApiError {
  return azureError(404, '404', 'Resource not found');
}

/** A dated path without `?api-version=`. */
export function azureMissingApiVersion(): ApiError {
  return azureError(
    400,
    'MissingApiVersionParameter',
    'The api-version query parameter (?api-version=) is required for all requests.',
  );
}

/** No credential, or one the resource does not accept. */
export function azureAccessDenied(): ApiError {
  return azureError(
    401,
    '401',
    'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key ' +
      'for an active subscription and use a correct regional API endpoint for your resource.',
  );
}
