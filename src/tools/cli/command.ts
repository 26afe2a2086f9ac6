/** One CLI command: `run` receives the arguments after the command's name. */
export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** Full help text for `openai-batch <name> --help`. */
  readonly usage: string;
  run(argv: readonly string[]): Promise<number>;
}
