import { randomInt } from 'node:crypto';
import net from 'node:net';
import {
  AcctFlag,
  AuthenMethod,
  AuthenService,
  AuthenType,
  AuthorStatus,
  decodeAcctReply,
  decodeAuthorResponse,
  decodePacket,
  encodeAcctRequest,
  encodeAuthorRequest,
  encodePacket,
  nameOf,
  PacketFramer,
  PacketType,
  type PacketTypeValue,
  VERSION_DEFAULT,
} from '../src/protocol/index.ts';

/**
 * One request with the AV pairs given as raw bytes, one connection, the reply's status: what a device of
 * another vendor could send, beyond what our client builds.
 */
async function exchange(port: number, key: string, type: PacketTypeValue, body: Buffer): Promise<Buffer> {
  const protection = { kind: 'key', key: Buffer.from(key) } as const;
  const sessionId = randomInt(1, 2 ** 32 - 1);
  const wire = encodePacket(
    { version: VERSION_DEFAULT, type, seqNo: 1, flags: 0, sessionId },
    body,
    protection,
  );
  const framer = new PacketFramer();
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => s.write(wire));
    s.on('data', (chunk) => {
      const [frame] = framer.push(chunk);
      if (!frame) return;
      s.destroy();
      const raw = Buffer.concat([headerOf(frame.header), frame.raw]);
      resolve(decodePacket(raw, protection).body);
    });
    s.on('error', reject);
    s.on('close', () => reject(new Error('closed before a reply')));
  });
}

function headerOf(h: {
  version: number;
  type: number;
  seqNo: number;
  flags: number;
  sessionId: number;
  length: number;
}) {
  const b = Buffer.alloc(12);
  b.writeUInt8(h.version, 0);
  b.writeUInt8(h.type, 1);
  b.writeUInt8(h.seqNo, 2);
  b.writeUInt8(h.flags, 3);
  b.writeUInt32BE(h.sessionId, 4);
  b.writeUInt32BE(h.length, 8);
  return b;
}

const COMMON = {
  authenMethod: AuthenMethod.TACACSPLUS,
  privLvl: 1,
  authenType: AuthenType.ASCII,
  authenService: AuthenService.LOGIN,
  port: 'ssh',
  remAddr: '',
};

export async function rawAuthorize(port: number, key: string, user: string, args: Buffer[]): Promise<string> {
  const body = encodeAuthorRequest({ ...COMMON, user, args });
  const reply = decodeAuthorResponse(await exchange(port, key, PacketType.AUTHOR, body));
  return String(nameOf(AuthorStatus, reply.status) ?? `0x${reply.status.toString(16)}`);
}

export async function rawAccount(port: number, key: string, user: string, args: Buffer[]): Promise<number> {
  const body = encodeAcctRequest({ ...COMMON, flags: AcctFlag.START, user, args });
  return decodeAcctReply(await exchange(port, key, PacketType.ACCT, body)).status;
}
