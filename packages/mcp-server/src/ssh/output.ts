// Output kept of a command: capped, so a device cannot make the MCP server buffer without bound.

/** Keeps the first `limit` bytes; counts the rest so the caller knows output was cut. */
export class CappedBuffer {
  readonly #limit: number;
  readonly #chunks: Buffer[] = [];
  #kept = 0;
  truncated = false;

  constructor(limit: number) {
    this.#limit = limit;
  }

  push(chunk: Buffer): void {
    const room = this.#limit - this.#kept;
    if (chunk.length > room) this.truncated = true;
    if (room <= 0) return;
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.#chunks.push(part);
    this.#kept += part.length;
  }

  text(): string {
    return Buffer.concat(this.#chunks).toString('utf8');
  }
}
