/** Splits JSONL pieces at newlines and `JSON.parse`s each line, nothing kept. */
class JsonLineParser {
  #carry: Buffer | undefined;

  push(chunk: Buffer): void {
    const buf: Buffer = this.#carry ? Buffer.concat([this.#carry, chunk]) : chunk;
    let pos = 0;
    for (let nl = buf.indexOf(10, pos); nl !== -1; nl = buf.indexOf(10, pos)) {
      if (nl > pos) JSON.parse(buf.toString('utf8', pos, nl));
      pos = nl + 1;
    }
    this.#carry = pos < buf.length ? buf.subarray(pos) : undefined;
  }

  end(): void {
    if (this.#carry && this.#carry.length > 0) JSON.parse(this.#carry.toString('utf8'));
    this.#carry = undefined;
  }
}

/**
 * The yardstick's reading of a JSONL body: split at newlines and `JSON.parse` each line, nothing
 * kept. Returns the bytes read.
 */
export async function parseJsonLines(body: AsyncIterable<Buffer>): Promise<number> {
  let bytes = 0;
  const parser = new JsonLineParser();
  for await (const chunk of body) {
    bytes += chunk.length;
    parser.push(chunk);
  }
  parser.end();
  return bytes;
}

/**
 * The same reading, handing every piece on unchanged once its lines are parsed: the source of the
 * floor yardstick's write (read, parse and write back the same bytes). `counted.bytes` is the
 * bytes read so far.
 */
export async function* parseJsonLinesPassing(
  body: AsyncIterable<Buffer>,
  counted: { bytes: number },
): AsyncGenerator<Buffer> {
  const parser = new JsonLineParser();
  for await (const chunk of body) {
    counted.bytes += chunk.length;
    parser.push(chunk);
    yield chunk;
  }
  parser.end();
}
