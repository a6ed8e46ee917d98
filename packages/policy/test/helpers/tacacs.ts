// A minimal, test-only reader of TACACS+ authorization packets (RFC 8907), independent of
// @netward/tacacs-plus, used to replay the captured tac_plus-ng exchanges.
import { createHash } from 'node:crypto';

/** RFC 8907 section 4.5: pad = MD5(session_id, key, version, seq_no [, previous MD5]) repeated. */
export function deobfuscate(packet: Buffer, key: string): { header: Buffer; body: Buffer } {
  const header = packet.subarray(0, 12);
  const length = header.readUInt32BE(8);
  const body = Buffer.from(packet.subarray(12, 12 + length));
  const prefix = Buffer.concat([
    header.subarray(4, 8),
    Buffer.from(key),
    header.subarray(0, 1),
    header.subarray(2, 3),
  ]);
  let prev = Buffer.alloc(0);
  for (let off = 0; off < body.length; off += 16) {
    prev = createHash('md5')
      .update(Buffer.concat([prefix, prev]))
      .digest();
    for (let k = 0; k < 16 && off + k < body.length; k++)
      body[off + k] = (body[off + k] as number) ^ (prev[k] as number);
  }
  return { header, body };
}

/** RFC 8907 section 6.1: the authorization REQUEST body. */
export function decodeAuthorRequest(body: Buffer): { user: string; args: string[] } {
  const userLen = body[4] as number;
  const portLen = body[5] as number;
  const remLen = body[6] as number;
  const argCnt = body[7] as number;
  const lens = [...body.subarray(8, 8 + argCnt)];
  let off = 8 + argCnt;
  const user = body.subarray(off, off + userLen).toString('latin1');
  off += userLen + portLen + remLen;
  const args = lens.map((l) => {
    const a = body.subarray(off, off + l).toString('latin1');
    off += l;
    return a;
  });
  if (off !== body.length) throw new Error('authorization request body does not add up');
  return { user, args };
}

/** RFC 8907 section 6.2: status of an authorization REPLY body (0x01 PASS_ADD, 0x10 FAIL, 0x11 ERROR). */
export function authorReplyStatus(body: Buffer): number {
  return body[0] as number;
}

/**
 * tac_plus-ng's construction of the string `cmd =~` sees (tac_plus-ng/author.c): the value of `cmd=` or
 * `cmd*`, then " " + value for every `cmd-arg=` longer than its prefix, in AV-pair order.
 */
export function tacPlusNgCmdline(args: readonly string[]): string {
  let t = '';
  for (const a of args) {
    if (a.length > 3 && (a.startsWith('cmd=') || a.startsWith('cmd*'))) t += a.slice(4);
    else if (a.length > 8 && a.startsWith('cmd-arg=')) t += ` ${a.slice(8)}`;
  }
  return t;
}
