import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TacacsError } from '../src/errors.ts';
import {
  AcctFlag,
  AuthenStatus,
  AuthorStatus,
  decodeAcctReply,
  decodeAcctRequest,
  decodeAuthenContinue,
  decodeAuthenReply,
  decodeAuthenStart,
  decodeAuthorRequest,
  decodeAuthorResponse,
  decodePacket,
  encodeAcctRequest,
  encodeAuthenContinue,
  encodeAuthenStart,
  encodeAuthorRequest,
  encodePacket,
  PacketType,
} from '../src/protocol/index.ts';
import { allPackets, LAB_KEY, loadVectors, WRONG_KEY } from './vectors.ts';

const lab = { kind: 'key', key: LAB_KEY } as const;

// What each case's description says, written out by hand: these are the expectations, not the decoder.
const COMMON = {
  authenMethod: 0x06,
  privLvl: 0,
  authenType: 0x01,
  authenService: 0x01,
  port: 'vty0',
  remAddr: '127.0.0.1',
};
const AUTHZ: Record<string, { user: string; args: string[]; status: number }> = {
  'authz-viewer-show-bgp-summary-pass': {
    user: 'net-viewer',
    args: ['service=shell', 'cmd=show', 'cmd-arg=bgp', 'cmd-arg=summary'],
    status: 0x01,
  },
  'authz-viewer-configure-terminal-fail': {
    user: 'net-viewer',
    args: ['service=shell', 'cmd=configure', 'cmd-arg=terminal'],
    status: 0x10,
  },
  'authz-operator-ping-pass': {
    user: 'net-operator',
    args: ['service=shell', 'cmd=ping', 'cmd-arg=10.0.0.1'],
    status: 0x01,
  },
  'authz-operator-vtysh-configure-fail': {
    user: 'net-operator',
    args: ['service=shell', 'cmd=vtysh', 'cmd-arg=-c', "cmd-arg='configure terminal'"],
    status: 0x10,
  },
  'authz-admin-configure-terminal-pass': {
    user: 'net-admin',
    args: ['service=shell', 'cmd=configure', 'cmd-arg=terminal'],
    status: 0x01,
  },
  'authz-unknown-user-fail': {
    user: 'mallory',
    args: ['service=shell', 'cmd=show', 'cmd-arg=version'],
    status: 0x10,
  },
};
const ACCT: Record<string, number> = { 'acct-start-operator-ping': 0x02, 'acct-stop-operator-ping': 0x04 };

function hdr(bytes: Buffer) {
  return {
    version: bytes[0],
    type: bytes[1],
    seqNo: bytes[2],
    flags: bytes[3],
    sessionId: bytes.readUInt32BE(4),
    length: bytes.readUInt32BE(8),
  };
}

describe('tac_plus-ng vectors', () => {
  const cases = loadVectors();

  it('holds the cases this file checks', () => {
    const names = cases.map((c) => c.name).sort();
    expect(names).toEqual(
      [
        ...Object.keys(AUTHZ),
        ...Object.keys(ACCT),
        'authz-wrong-client-key',
        'authen-pap-good',
        'authen-pap-bad',
        'authen-ascii-good',
      ].sort(),
    );
  });

  it('decodes every packet header to the raw header bytes, with the announced length exact', () => {
    for (const p of allPackets()) {
      if (p.name === 'authz-wrong-client-key' && p.from === 'server') continue;
      const { header } = decodePacket(p.bytes, { kind: 'key', key: p.key });
      expect(header).toEqual(hdr(p.bytes));
      expect(p.bytes.length).toBe(12 + header.length);
      expect(header.flags).toBe(0);
    }
  });

  for (const [name, want] of Object.entries(AUTHZ)) {
    it(`${name}: request fields, response status, client bytes re-encoded identically`, () => {
      const c = cases.find((x) => x.name === name)!;
      const [req, res] = c.messages.map((m) => Buffer.from(m.hex, 'hex')) as [Buffer, Buffer];
      const q = decodePacket(req, lab);
      expect(q.header).toMatchObject({ version: 0xc0, type: PacketType.AUTHOR, seqNo: 1 });
      const body = decodeAuthorRequest(q.body);
      expect(body).toEqual({ ...COMMON, user: want.user, args: want.args, argBytes: bytesOf(want.args) });
      const r = decodePacket(res, lab);
      expect(r.header).toMatchObject({
        version: 0xc0,
        type: PacketType.AUTHOR,
        seqNo: 2,
        sessionId: q.header.sessionId,
      });
      expect(decodeAuthorResponse(r.body)).toEqual({
        status: want.status,
        args: [],
        serverMsg: '',
        data: '',
      });
      const again = encodePacket(q.header, encodeAuthorRequest(body), lab);
      expect(again.toString('hex')).toBe(req.toString('hex'));
    });
  }

  for (const [name, flags] of Object.entries(ACCT)) {
    it(`${name}: accounting flags and fields, SUCCESS, identical re-encoding`, () => {
      const c = cases.find((x) => x.name === name)!;
      const [req, res] = c.messages.map((m) => Buffer.from(m.hex, 'hex')) as [Buffer, Buffer];
      const q = decodePacket(req, lab);
      expect(q.header).toMatchObject({ version: 0xc0, type: PacketType.ACCT, seqNo: 1 });
      const body = decodeAcctRequest(q.body);
      expect(body).toEqual({
        ...COMMON,
        flags,
        user: 'net-operator',
        args: ['service=shell', 'cmd=ping', 'cmd-arg=10.0.0.1'],
        argBytes: bytesOf(['service=shell', 'cmd=ping', 'cmd-arg=10.0.0.1']),
      });
      expect(flags === AcctFlag.START || flags === AcctFlag.STOP).toBe(true);
      const r = decodePacket(res, lab);
      expect(r.header).toMatchObject({ type: PacketType.ACCT, seqNo: 2, sessionId: q.header.sessionId });
      expect(decodeAcctReply(r.body)).toEqual({ status: 0x01, serverMsg: '', data: '' });
      expect(encodePacket(q.header, encodeAcctRequest(body), lab).equals(req)).toBe(true);
    });
  }

  for (const [name, password, status] of [
    ['authen-pap-good', 'labpass', AuthenStatus.PASS],
    ['authen-pap-bad', 'wrong', AuthenStatus.FAIL],
  ] as const) {
    it(`${name}: PAP START with minor version 1, reply status, identical re-encoding`, () => {
      const c = cases.find((x) => x.name === name)!;
      const [req, res] = c.messages.map((m) => Buffer.from(m.hex, 'hex')) as [Buffer, Buffer];
      const q = decodePacket(req, lab);
      expect(q.header).toMatchObject({ version: 0xc1, type: PacketType.AUTHEN, seqNo: 1 });
      const start = decodeAuthenStart(q.body);
      expect(start).toEqual({
        action: 0x01,
        privLvl: 0,
        authenType: 0x02,
        authenService: 0x01,
        user: 'net-operator',
        port: 'vty0',
        remAddr: '127.0.0.1',
        data: Buffer.from(password),
      });
      const r = decodePacket(res, lab);
      expect(r.header).toMatchObject({ version: 0xc1, seqNo: 2, sessionId: q.header.sessionId });
      expect(decodeAuthenReply(r.body)).toEqual({ status, flags: 0, serverMsg: '', data: Buffer.alloc(0) });
      expect(encodePacket(q.header, encodeAuthenStart(start), lab).equals(req)).toBe(true);
    });
  }

  it('authen-ascii-good: START, GETPASS with NOECHO, CONTINUE with the password, PASS', () => {
    const c = cases.find((x) => x.name === 'authen-ascii-good')!;
    const [start, getpass, cont, pass] = c.messages.map((m) => Buffer.from(m.hex, 'hex')) as [
      Buffer,
      Buffer,
      Buffer,
      Buffer,
    ];
    const s = decodePacket(start, lab);
    expect(s.header).toMatchObject({ version: 0xc0, type: PacketType.AUTHEN, seqNo: 1 });
    const sb = decodeAuthenStart(s.body);
    expect(sb).toEqual({
      action: 0x01,
      privLvl: 0,
      authenType: 0x01,
      authenService: 0x01,
      user: 'net-operator',
      port: 'vty0',
      remAddr: '127.0.0.1',
      data: Buffer.alloc(0),
    });
    const g = decodePacket(getpass, lab);
    expect(g.header).toMatchObject({ seqNo: 2, sessionId: s.header.sessionId });
    expect(decodeAuthenReply(g.body)).toEqual({
      status: AuthenStatus.GETPASS,
      flags: 0x01,
      serverMsg: 'User Access Verification\n\nPassword: ',
      data: Buffer.alloc(0),
    });
    const k = decodePacket(cont, lab);
    expect(k.header).toMatchObject({ seqNo: 3, sessionId: s.header.sessionId });
    const kb = decodeAuthenContinue(k.body);
    expect(kb).toEqual({ flags: 0, userMsg: 'labpass', data: Buffer.alloc(0) });
    const p = decodePacket(pass, lab);
    expect(p.header).toMatchObject({ seqNo: 4 });
    expect(decodeAuthenReply(p.body).status).toBe(AuthenStatus.PASS);
    expect(encodePacket(s.header, encodeAuthenStart(sb), lab).equals(start)).toBe(true);
    expect(encodePacket(k.header, encodeAuthenContinue(kb), lab).equals(cont)).toBe(true);
  });

  it('authz-wrong-client-key: the reply is a typed error with the client key and ERROR with the server key', () => {
    const c = cases.find((x) => x.name === 'authz-wrong-client-key')!;
    const [req, res] = c.messages.map((m) => Buffer.from(m.hex, 'hex')) as [Buffer, Buffer];
    const q = decodePacket(req, { kind: 'key', key: WRONG_KEY });
    const body = decodeAuthorRequest(q.body);
    expect(body).toEqual({
      ...COMMON,
      user: 'net-viewer',
      args: ['service=shell', 'cmd=show', 'cmd-arg=version'],
      argBytes: bytesOf(['service=shell', 'cmd=show', 'cmd-arg=version']),
    });
    expect(
      encodePacket(q.header, encodeAuthorRequest(body), { kind: 'key', key: WRONG_KEY }).equals(req),
    ).toBe(true);

    const withClientKey = decodePacket(res, { kind: 'key', key: WRONG_KEY });
    let error: unknown;
    try {
      decodeAuthorResponse(withClientKey.body);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TacacsError);
    expect((error as TacacsError).code).toBe('ERR_TACACS_MALFORMED_PACKET');

    const withServerKey = decodeAuthorResponse(decodePacket(res, lab).body);
    expect(withServerKey.status).toBe(AuthorStatus.ERROR);
    expect(withServerKey.args).toEqual([]);
  });

  it('obfuscation matches a pad computed here from RFC 8907 section 4.5 with createHash', () => {
    // An independent pad builder: MD5 chained over {session_id, key, version, seq_no[, previous]}.
    for (const p of allPackets()) {
      const h = hdr(p.bytes);
      const pre = Buffer.concat([p.bytes.subarray(4, 8), p.key, Buffer.of(h.version!, h.seqNo!)]);
      let pad = Buffer.alloc(0);
      let prev = Buffer.alloc(0);
      while (pad.length < h.length) {
        prev = createHash('md5')
          .update(Buffer.concat([pre, prev]))
          .digest();
        pad = Buffer.concat([pad, prev]);
      }
      const clear = Buffer.from(p.bytes.subarray(12).map((b, i) => b ^ (pad[i] as number)));
      if (p.name === 'authz-wrong-client-key' && p.from === 'server') continue;
      expect(decodePacket(p.bytes, { kind: 'key', key: p.key }).body.equals(clear)).toBe(true);
    }
  });
});

function bytesOf(args: readonly string[]): Buffer[] {
  return args.map((a) => Buffer.from(a, 'utf8'));
}
