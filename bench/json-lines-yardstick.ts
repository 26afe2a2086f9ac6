/**
 * The yardstick's reading of a JSONL body: split at newlines and `JSON.parse` each line, nothing
 * kept. Returns the bytes read.
 */
export async function parseJsonLines(body: AsyncIterable<Buffer>): Promise<number> {
  let bytes = 0;
  let carry: Buffer | undefined;
  for await (const chunk of body) {
    bytes += chunk.length;
    const buf: Buffer = carry ? Buffer.concat([carry, chunk]) : chunk;
    let pos = 0;
    for (let nl = buf.indexOf(10, pos); nl !== -1; nl = buf.indexOf(10, pos)) {
      if (nl > pos) JSON.parse(buf.toString('utf8', pos, nl));
      pos = nl + 1;
    }
    carry = pos < buf.length ? buf.subarray(pos) : undefined;
  }
  if (carry && carry.length > 0) JSON.parse(carry.toString('utf8'));
  return bytes;
}
