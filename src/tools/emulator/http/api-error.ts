/** An error answered the way OpenAI answers it: an HTTP status and `{ error: { message, type, param, code } }`. */
export class ApiError extends Error {
  readonly status: number;
  readonly type: string;
  readonly param: string | null;
  readonly code: string | null;
  readonly headers: Record<string, string>;
  /** A body in another service's shape (Azure's `{ error: { code, message } }`); OpenAI's otherwise. */
  readonly body: unknown;

  constructor(
    status: number,
    message: string,
    details: {
      type?: string;
      param?: string | null;
      code?: string | null;
      headers?: Record<string, string>;
      body?: unknown;
    } = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.type = details.type ?? 'invalid_request_error';
    this.param = details.param ?? null;
    this.code = details.code ?? null;
    this.headers = details.headers ?? {};
    this.body = details.body;
  }

  toBody(): unknown {
    if (this.body !== undefined) return this.body;
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** OpenAI's 404 for an unknown object id. */
export function notFound(kind: 'file' | 'batch', id: string, param: string): ApiError {
  const message = kind === 'file' ? `No such File object: ${id}` : `No batch found with id '${id}'.`;
  return new ApiError(404, message, { param, code: null });
}
