import { spawn } from 'node:child_process';

// The counting process: loads the encoding, prints `ready`, then answers each line of stdin (a
// JSON array of strings: one request's texts) with their total token count (-1 when counting
// failed), in order, and ends with its stdin.
const COUNTER_PROCESS = `
const encodingUrl = process.argv.at(-1);
import(encodingUrl).then((mod) => {
  process.stdout.write('ready\\n');
  let pending = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (data) => {
    pending += data;
    let answers = '';
    for (let nl = pending.indexOf('\\n'); nl !== -1; nl = pending.indexOf('\\n')) {
      let tokens = 0;
      try {
        for (const text of JSON.parse(pending.slice(0, nl))) tokens += mod.countTokens(text);
      } catch { tokens = -1; }
      pending = pending.slice(nl + 1);
      answers += tokens + '\\n';
    }
    if (answers) process.stdout.write(answers);
  });
  process.stdin.on('end', () => process.exit(0));
}, (err) => {
  console.error(String(err));
  process.exit(1);
});
`;

/** How long a question may go unanswered before the counter counts as stopped. */
const STALL_MS = 30_000;
/** How long loading the rank table may take (~1-2 s; far longer only on a machine in trouble). */
const READY_MS = 60_000;
/** How long a closed counter with nothing left to answer has to exit on its own before it is killed. */
const EXIT_MS = 5_000;
/** Questions waiting to be written are sent at once past this many characters. */
const FLUSH_CHARS = 1 << 16;

/** What the planner hears from a {@link CountingProcess}: answers in the order asked, or one failure. */
export interface CountingListener {
  answer(tokens: number): void;
  fail(err: Error): void;
}

/**
 * A tokenizer in a process of its own, asked without waiting: each `ask` writes one request's
 * texts to its stdin, and the answers come back in order through the listener. The rank table is
 * ~60-70 MB while it is loaded, and a module once imported stays for the process's life (in a
 * thread it left ~40-50 MB of the worker's RSS behind); a process gives back all of it when it
 * ends. The planner never blocks on it: it sends the sampled requests and goes on (planning and
 * counting then run side by side, on two cores where there are two).
 */
export class CountingProcess {
  readonly #child: ReturnType<typeof spawn>;
  readonly #listener: CountingListener;
  #unanswered = 0;
  /** True once the rank table is loaded and the process reads its stdin. */
  #loaded = false;
  #pending = '';
  #ended = false;
  #stall: NodeJS.Timeout | undefined;
  #outgoing = '';
  #flushing: NodeJS.Immediate | undefined;

  private constructor(child: ReturnType<typeof spawn>, listener: CountingListener) {
    this.#child = child;
    this.#listener = listener;
  }

  /** Starts the process and resolves once its rank table is loaded. */
  static async start(encoding: 'o200k_base' | 'cl100k_base', listener: CountingListener): Promise<CountingProcess> {
    const encodingUrl = import.meta.resolve(`gpt-tokenizer/encoding/${encoding}`);
    const child = spawn(process.execPath, ['--input-type=module', '-e', COUNTER_PROCESS, encodingUrl], {
      stdio: ['pipe', 'pipe', 'ignore'],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    const counter = new CountingProcess(child, listener);
    await counter.#ready(encoding);
    return counter;
  }

  /** Asks for the total token count of one request's texts; the answer comes through the listener. */
  ask(texts: readonly string[]): void {
    if (this.#ended) throw new Error('the token counter has ended');
    if (this.#unanswered++ === 0) this.#armStall();
    // Questions go out once per turn of the event loop (or every 64 KiB), not one write each: a
    // pipe write per sample cost ~0.5 ms of the planner's time under load (it wakes the process).
    this.#outgoing += JSON.stringify(texts) + '\n';
    if (this.#outgoing.length >= FLUSH_CHARS) this.#flush();
    else this.#flushing ??= setImmediate(() => this.#flush());
  }

  /**
   * Ends the process: its stdin closes and it exits. Answers still due are not delivered, so a
   * counter still counting is killed rather than left to finish (a stuck one would never read the
   * end of its stdin, and would keep its rank table and a core), and so is one still loading.
   */
  close(): void {
    if (this.#ended) return;
    this.#ended = true;
    clearTimeout(this.#stall);
    clearImmediate(this.#flushing);
    const child = this.#child;
    child.stdin?.end();
    if (child.exitCode !== null || child.signalCode !== null) return;
    if (this.#unanswered > 0 || !this.#loaded) {
      child.kill('SIGKILL');
      return;
    }
    const kill = setTimeout(() => child.kill('SIGKILL'), EXIT_MS);
    kill.unref();
    child.once('exit', () => clearTimeout(kill));
  }

  #flush(): void {
    clearImmediate(this.#flushing);
    this.#flushing = undefined;
    if (this.#ended || this.#outgoing === '') return;
    this.#child.stdin?.write(this.#outgoing);
    this.#outgoing = '';
  }

  #ready(encoding: string): Promise<void> {
    const child = this.#child;
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      const loading = setTimeout(() => failed(`not ready after ${READY_MS / 1000} s`), READY_MS);
      const failed = (why: string, cause?: unknown): void => {
        if (!ready) {
          clearTimeout(loading);
          this.close();
          reject(new Error(`loading the ${encoding} token counter failed (${why})`, { cause }));
        } else this.#fail(new Error(`the token counter ${why}`, { cause }));
      };
      child.on('error', (err) => failed('could not run', err));
      child.stdin?.on('error', (err) => failed('stopped reading', err));
      child.stdout?.on('error', (err) => failed('stopped answering', err));
      child.on('exit', (code, signal) => {
        if (!this.#ended) failed(`process exited (${signal ?? `code ${code}`}) before the plan ended`);
      });
      child.stdout?.setEncoding('utf8');
      child.stdout?.on('data', (data: string) => {
        this.#pending += data;
        for (let nl = this.#pending.indexOf('\n'); nl !== -1; nl = this.#pending.indexOf('\n')) {
          const line = this.#pending.slice(0, nl);
          this.#pending = this.#pending.slice(nl + 1);
          if (!ready) {
            ready = line === 'ready';
            if (ready) {
              this.#loaded = true;
              clearTimeout(loading);
              resolve();
            }
            continue;
          }
          this.#answer(Number(line));
        }
      });
    });
  }

  #answer(tokens: number): void {
    if (this.#ended) return;
    if (tokens < 0 || !Number.isInteger(tokens)) return this.#fail(new Error('the token counter failed on a text'));
    clearTimeout(this.#stall);
    if (--this.#unanswered > 0) this.#armStall();
    this.#listener.answer(tokens);
  }

  #armStall(): void {
    this.#stall = setTimeout(() => this.#fail(new Error('the token counter stopped answering')), STALL_MS);
    this.#stall.unref();
  }

  #fail(err: Error): void {
    if (this.#ended) return;
    this.close();
    this.#listener.fail(err);
  }
}
