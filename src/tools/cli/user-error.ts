/**
 * A mistake the user can fix (bad flag, missing file, unreachable server). The CLI prints its
 * message and hint as plain lines and exits 2, never a stack trace.
 */
export class UserError extends Error {
  readonly hint: string | undefined;
  constructor(message: string, hint?: string) {
    super(message);
    this.name = 'UserError';
    this.hint = hint;
  }
}
