// Byte-level mutations in the manner of libFuzzer's: flips, interesting values at every width (TACACS+
// lengths are u8, u16 and u32), inserts, deletes, copies within the input and crossover with another
// corpus entry. A seeded PRNG makes a run repeatable from its seed.

/** xorshift32: fast and repeatable; not for anything secret. */
export function prng(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

const INTERESTING_8 = [0, 1, 0x7f, 0x80, 0xff, 0x0c, 0xc0, 0xc1, 0x3d, 0x2a, 0x20];
const INTERESTING_16 = [0, 1, 0xff, 0x100, 0x7fff, 0x8000, 0xffff];
const INTERESTING_32 = [0, 1, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff];

export function mutate(input: Buffer, other: Buffer, rand: () => number, maxLength: number): Buffer {
  let b = Buffer.from(input);
  const steps = 1 + (rand() % 4);
  for (let s = 0; s < steps; s++) {
    const at = b.length === 0 ? 0 : rand() % b.length;
    switch (rand() % 11) {
      case 0:
        if (b.length) b[at] = (b[at] as number) ^ (1 << (rand() % 8));
        break;
      case 1:
        if (b.length) b[at] = rand() & 0xff;
        break;
      case 2:
        if (b.length) b[at] = INTERESTING_8[rand() % INTERESTING_8.length] as number;
        break;
      case 3:
        if (at + 2 <= b.length) b.writeUInt16BE(INTERESTING_16[rand() % INTERESTING_16.length] as number, at);
        break;
      case 4:
        if (at + 4 <= b.length) b.writeUInt32BE(INTERESTING_32[rand() % INTERESTING_32.length] as number, at);
        break;
      case 5: {
        const n = 1 + (rand() % 8);
        const ins = Buffer.alloc(n);
        for (let i = 0; i < n; i++) ins[i] = rand() & 0xff;
        b = Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]);
        break;
      }
      case 6: {
        const n = 1 + (rand() % 8);
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + n)]);
        break;
      }
      case 7: {
        // Copy a piece of the input over another place (repeats a field or a whole argument).
        if (!b.length) break;
        const from = rand() % b.length;
        const n = 1 + (rand() % Math.min(16, b.length - from));
        b = Buffer.concat([b.subarray(0, at), b.subarray(from, from + n), b.subarray(at)]);
        break;
      }
      case 8: {
        // Crossover: our head, the other input's tail.
        if (!other.length) break;
        const cut = rand() % (other.length + 1);
        b = Buffer.concat([b.subarray(0, at), other.subarray(cut)]);
        break;
      }
      case 9:
        if (b.length) b = b.subarray(0, at);
        break;
      default:
        if (b.length) {
          // Add or subtract a little, the usual way an off-by-one in a length field shows up.
          const d = 1 + (rand() % 4);
          b[at] = ((b[at] as number) + (rand() & 1 ? d : 256 - d)) & 0xff;
        }
    }
  }
  return b.length > maxLength ? b.subarray(0, maxLength) : b;
}
