import type { BatchEndpoint } from '../requests/index.ts';
import { promptParts } from '../requests/index.ts';

/** How prompt tokens are counted while planning. */
export type TokenCounting = 'exact' | 'sampled';

type CountTokens = (text: string) => number;

/** Models before gpt-4o use cl100k_base; gpt-4o, gpt-4.1, gpt-5 and the o-series use o200k_base. */
export function encodingFor(model: string): 'o200k_base' | 'cl100k_base' {
  return /^(gpt-4($|-)|gpt-3\.5|text-embedding-|davinci|babbage)/.test(model) ? 'cl100k_base' : 'o200k_base';
}

interface Counter {
  count: CountTokens;
  /** Frees the counter's rank table (a thread's counter ends its thread). */
  close: () => void;
}

async function loadCounter(encoding: 'o200k_base' | 'cl100k_base'): Promise<CountTokens> {
  // Loaded on demand: each encoding's rank table costs memory and startup time.
  const mod =
    encoding === 'o200k_base'
      ? await import('gpt-tokenizer/encoding/o200k_base')
      : await import('gpt-tokenizer/encoding/cl100k_base');
  return (text) => mod.countTokens(text);
}

// The counting process: loads the encoding, prints `ready`, then answers each line of stdin (a
// JSON string) with its token count (-1 when counting failed), and ends with its stdin.
const COUNTER_PROCESS = `
const encodingUrl = process.argv.at(-1);
import(encodingUrl).then((mod) => {
  process.stdout.write('ready\\n');
  let pending = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (data) => {
    pending += data;
    for (let nl = pending.indexOf('\\n'); nl !== -1; nl = pending.indexOf('\\n')) {
      let tokens = -1;
      try { tokens = mod.countTokens(JSON.parse(pending.slice(0, nl))); } catch {}
      pending = pending.slice(nl + 1);
      process.stdout.write(tokens + '\\n');
    }
  });
  process.stdin.on('end', () => process.exit(0));
}, (err) => {
  console.error(String(err));
  process.exit(1);
});
`;

// The counting thread, a go-between: the planner asks it synchronously (Atomics.wait on
// \`answer[0]\`, the count in \`answer[1]\`, -2 when the process failed), and it asks the counting
// process over a pipe.
const COUNTER_THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const { spawn } = require('node:child_process');
const answer = new Int32Array(workerData.answer);
const reply = (n) => {
  Atomics.store(answer, 1, n);
  Atomics.store(answer, 0, 1);
  Atomics.notify(answer, 0);
};
const child = spawn(process.execPath, ['--input-type=module', '-e', workerData.program, workerData.encodingUrl], {
  stdio: ['pipe', 'pipe', 'ignore'],
  env: { ...process.env, NODE_OPTIONS: '' },
});
let pending = '';
child.stdout.setEncoding('utf8');
child.stdout.on('data', (data) => {
  pending += data;
  for (let nl = pending.indexOf('\\n'); nl !== -1; nl = pending.indexOf('\\n')) {
    const line = pending.slice(0, nl);
    pending = pending.slice(nl + 1);
    reply(line === 'ready' ? 0 : Number(line));
  }
});
let exited = false;
child.on('error', () => reply(-2));
child.on('exit', () => {
  exited = true;
  reply(-2);
});
child.stdin.on('error', () => reply(-2));
parentPort.on('message', (message) => {
  // Ended: its stdin is closed, and a write to it would never be answered.
  if (exited || child.stdin.destroyed) return reply(-2);
  if (message.stop) {
    // The thread ends once the process has exited and been reaped (no zombie is left).
    child.once('exit', () => process.exit(0));
    child.stdin.end();
    return;
  }
  child.stdin.write(JSON.stringify(message.text) + '\\n');
});
`;

/**
 * A counter whose rank table lives in a process of its own, asked synchronously through a thread
 * (the caller blocks on an Atomics.wait for each text). The table is ~60-70 MB while it is
 * loaded, and a module once imported stays for the process's life; in a thread, it went with the
 * thread after the plan but left ~40-50 MB of the worker's RSS behind (what the thread's heap and
 * allocations had taken, never given back); a process gives back all of it when it ends. Each call
 * costs two hops (thread, pipe: ~0.2 ms), so this is for sampled counting, which counts one line
 * in 32 to 256.
 */
async function threadCounter(encoding: 'o200k_base' | 'cl100k_base'): Promise<Counter> {
  const { Worker } = await import('node:worker_threads');
  const answerBuffer = new SharedArrayBuffer(8);
  const answer = new Int32Array(answerBuffer);
  const encodingUrl = import.meta.resolve(`gpt-tokenizer/encoding/${encoding}`);
  const thread = new Worker(COUNTER_THREAD, {
    eval: true,
    workerData: { answer: answerBuffer, encodingUrl, program: COUNTER_PROCESS },
  });
  thread.unref();
  let failure: unknown;
  let ended = false;
  thread.on('error', (err: unknown) => {
    failure = err;
  });
  thread.on('exit', () => {
    ended = true;
  });
  // Wait for the table to load without blocking the event loop (the thread reports through the
  // same cell).
  while (Atomics.load(answer, 0) === 0 && failure === undefined && !ended) await new Promise((r) => setTimeout(r, 10));
  if (failure !== undefined || ended || Atomics.load(answer, 1) === -2) {
    await thread.terminate();
    throw new Error(`loading the ${encoding} token counter failed`, { cause: failure });
  }
  return {
    count: (text) => {
      // threadId is -1 once the thread has died: never block on a thread that cannot answer.
      if (ended || thread.threadId === -1) throw new Error('the token counter thread has ended', { cause: failure });
      Atomics.store(answer, 0, 0);
      thread.postMessage({ text });
      // Bounded: a thread that died does not hang the plan.
      if (Atomics.wait(answer, 0, 0, 30_000) === 'timed-out') throw new Error('the token counter thread stopped');
      const tokens = Atomics.load(answer, 1);
      if (tokens < 0) throw new Error('the token counter thread failed on a text');
      return tokens;
    },
    close: () => {
      if (ended) return;
      ended = true;
      // The thread ends itself once the process is reaped; terminating it at once would leave the
      // process a zombie until the worker exits. Terminated anyway if that takes too long.
      thread.postMessage({ stop: true });
      setTimeout(() => void thread.terminate(), 5_000).unref();
    },
  };
}

// When sampling, one line in SAMPLE_EVERY is tokenized and the rest scale the measured tokens per
// character. After DENSE_SAMPLES samples the ratio is settled, and one line in SPARSE_EVERY is
// enough: tokenizing is the slowest part of planning (gpt-tokenizer reads ~30 MB/s).
const SAMPLE_EVERY = 32;
const DENSE_SAMPLES = 1024;
const SPARSE_EVERY = 256;
const FALLBACK_TOKENS_PER_CHAR = 0.25;

/**
 * Estimates prompt tokens per request with gpt-tokenizer. `exact` tokenizes every request (needed
 * for a token budget); `sampled` tokenizes every 32nd (every 256th after the first 1,024 samples)
 * and scales the others by the measured tokens per character: far cheaper, and deterministic.
 */
export class TokenEstimator {
  readonly mode: TokenCounting;
  readonly #count: CountTokens;
  readonly #close: () => void;
  readonly #endpoint: BatchEndpoint;
  #seen = 0;
  #samples = 0;
  #sampledChars = 0;
  #sampledTokens = 0;

  private constructor(mode: TokenCounting, counter: Counter, endpoint: BatchEndpoint) {
    this.mode = mode;
    this.#count = counter.count;
    this.#close = counter.close;
    this.#endpoint = endpoint;
  }

  /**
   * Sampled counting runs its tokenizer in a thread that `close()` ends (its rank table then leaves
   * the worker's memory); exact counting, which tokenizes every line, keeps it in this thread.
   */
  static async create(model: string, endpoint: BatchEndpoint, mode: TokenCounting): Promise<TokenEstimator> {
    const encoding = encodingFor(model);
    const counter: Counter =
      mode === 'sampled'
        ? await threadCounter(encoding)
        : { count: await loadCounter(encoding), close: () => undefined };
    return new TokenEstimator(mode, counter, endpoint);
  }

  /** Frees the tokenizer of a sampled estimator; estimating afterwards fails. */
  close(): void {
    this.#close();
  }

  estimate(body: Record<string, unknown>): number {
    const { texts, fixedTokens } = promptParts(body, this.#endpoint);
    const every = this.#samples < DENSE_SAMPLES ? SAMPLE_EVERY : SPARSE_EVERY;
    const sample = this.mode === 'exact' || this.#seen++ % every === 0;
    let chars = 0;
    let tokens = 0;
    for (const t of texts) {
      chars += t.length;
      if (sample) tokens += this.#count(t);
    }
    if (sample) {
      this.#samples++;
      this.#sampledChars += chars;
      this.#sampledTokens += tokens;
      return tokens + fixedTokens;
    }
    const ratio = this.#sampledChars > 0 ? this.#sampledTokens / this.#sampledChars : FALLBACK_TOKENS_PER_CHAR;
    return Math.round(chars * ratio) + fixedTokens;
  }
}
