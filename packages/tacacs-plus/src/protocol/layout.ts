import { TacacsError } from '../errors.ts';
import { nameOf } from './constants.ts';
import { BodyReader, lenientText } from './reader.ts';
import {
  byte,
  len8 as checkLen8,
  len16 as checkLen16,
  type FieldValue,
  fieldLength,
  writeField,
} from './writer.ts';

/**
 * Every RFC 8907 body has the same shape (sections 5.1-5.3, 6.1-6.2, 7.1-7.2): a fixed part of one-byte
 * numbers and one- or two-byte lengths (with, in the authorization and accounting bodies, an argument
 * count followed by one length byte per argument), then the values, in the order their lengths came,
 * the arguments last. A layout lists the fixed part; one decoder and one encoder serve every packet.
 */
export type FieldSpec =
  /** A one-byte number; `check` returns why a value is refused, undefined when it is valid. */
  | {
      readonly kind: 'u8';
      readonly key: string;
      readonly wire: string;
      readonly check?: (v: number) => string | undefined;
      /** Sent when the caller gives none (the flags of a reply). */
      readonly default?: number;
    }
  /** A length in one or two bytes whose value follows the fixed part: UTF-8 text, or bytes as received. */
  | {
      readonly kind: 'len8' | 'len16';
      readonly key: string;
      readonly wire: string;
      readonly lengthWire: string;
      readonly value: 'text' | 'bytes';
    }
  /**
   * arg_cnt here, one length byte per argument after the fixed part, the arguments after every other
   * value. 'text': UTF-8 strings in `args`. 'bytes': `argBytes` as received and `args` for display,
   * since arguments have no character set (RFC 8907 section 6.1; see RequestCommon).
   */
  | { readonly kind: 'args'; readonly value: 'text' | 'bytes' };

interface Layout {
  readonly name: string;
  readonly fields: readonly FieldSpec[];
  /** Whether the body carries arguments: the others skip looking for them. */
  readonly hasArgs: boolean;
}

const NO_ARGS: readonly FieldValue[] = [];

/** The encoder and decoder of one packet body; D is what decoding gives, E what encoding takes. */
export interface BodyCodec<D, E> {
  readonly encode: (input: E) => Buffer;
  readonly decode: (body: Buffer) => D;
}

export function bodyCodec<D, E>(name: string, fields: readonly FieldSpec[]): BodyCodec<D, E> {
  const l: Layout = { name, fields, hasArgs: fields.some((f) => f.kind === 'args') };
  return { encode: (input) => encodeBody(l, input), decode: (body) => decodeBody(body, l) as D };
}

export function u8(key: string, wire: string, check?: (v: number) => string | undefined): FieldSpec {
  return check ? { kind: 'u8', key, wire, check } : { kind: 'u8', key, wire };
}

/** A one-byte field the encoder fills with `dflt` when the caller leaves it out. */
export function u8Default(key: string, wire: string, dflt: number): FieldSpec {
  return { kind: 'u8', key, wire, default: dflt };
}

export function len8(key: string, wire: string, value: 'text' | 'bytes' = 'text'): FieldSpec {
  return { kind: 'len8', key, wire, lengthWire: `${wire}_len`, value };
}

export function len16(key: string, wire: string, value: 'text' | 'bytes' = 'text'): FieldSpec {
  return { kind: 'len16', key, wire, lengthWire: `${wire}_len`, value };
}

export function args(value: 'text' | 'bytes'): FieldSpec {
  return { kind: 'args', value };
}

/** A check that accepts exactly the values a constants table names. */
export function known(table: Record<string, number>, what: string): (v: number) => string | undefined {
  return (v) => (nameOf(table, v) === undefined ? `unknown ${what} 0x${v.toString(16)}` : undefined);
}

/**
 * Reads one body. Every length is checked against what is left (BodyReader), text must be UTF-8, and
 * bytes left over after the last value make the body malformed: RFC 8907 lengths are exact.
 */
function decodeBody(body: Buffer, l: Layout): unknown {
  const r = new BodyReader(body);
  const out: Record<string, unknown> = {};
  const lengths: number[] = [];
  let argValue: 'text' | 'bytes' | undefined;
  let argCount = 0;
  for (const f of l.fields) {
    if (f.kind === 'u8') {
      const v = r.u8(f.wire);
      const refused = f.check?.(v);
      if (refused !== undefined) throw new TacacsError('ERR_TACACS_MALFORMED_PACKET', refused);
      out[f.key] = v;
    } else if (f.kind === 'args') {
      argValue = f.value;
      argCount = r.u8('arg_cnt');
    } else lengths.push(f.kind === 'len8' ? r.u8(f.lengthWire) : r.u16(f.lengthWire));
  }
  const argLengths: number[] = [];
  for (let i = 0; i < argCount; i++) argLengths.push(r.u8('arg_len'));
  let at = 0;
  for (const f of l.fields) {
    if (f.kind !== 'len8' && f.kind !== 'len16') continue;
    const n = lengths[at++] as number;
    // A copy for bytes: the value outlives the body it came in (a PAP password, a CHAP response).
    out[f.key] = f.value === 'text' ? r.text(n, f.wire) : Buffer.from(r.bytes(n, f.wire));
  }
  if (argValue === 'text') out['args'] = argLengths.map((n) => r.text(n, 'argument'));
  else if (argValue === 'bytes') {
    const argBytes = argLengths.map((n) => r.bytes(n, 'argument'));
    out['args'] = argBytes.map(lenientText);
    out['argBytes'] = argBytes;
  }
  r.end(l.name);
  return out;
}

/**
 * Writes one body; every length is checked against its field's size (ERR_TACACS_FIELD_TOO_LONG). The
 * lengths are measured first and the body written once into a buffer of the exact size, the fixed part
 * in field order (so the first field that does not fit is the one reported), then the values.
 */
function encodeBody(l: Layout, input: unknown): Buffer {
  const s = input as Record<string, unknown>;
  const argValues = l.hasArgs ? ((s['args'] ?? NO_ARGS) as readonly FieldValue[]) : NO_ARGS;
  if (argValues.length > 0xff) throw new TacacsError('ERR_TACACS_FIELD_TOO_LONG', 'more than 255 arguments');
  const values: FieldValue[] = [];
  const lengths: number[] = [];
  let size = 0;
  for (const f of l.fields) {
    if (f.kind === 'u8') size += 1;
    else if (f.kind === 'args') size += 1 + argValues.length;
    else {
      const v = (s[f.key] ?? '') as FieldValue;
      const n = fieldLength(v);
      values.push(v);
      lengths.push(n);
      size += (f.kind === 'len8' ? 1 : 2) + n;
    }
  }
  const argLengths = argValues.map(fieldLength);
  for (const n of argLengths) size += n;
  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  let at = 0;
  for (const f of l.fields) {
    if (f.kind === 'u8') out[pos++] = byte((s[f.key] ?? f.default) as number, f.wire);
    else if (f.kind === 'args') out[pos++] = argValues.length;
    else {
      const n = lengths[at++] as number;
      if (f.kind === 'len8') out[pos++] = byte(checkLen8(n, f.wire), f.lengthWire);
      else pos = out.writeUInt16BE(checkLen16(n, f.wire), pos);
    }
  }
  // One length byte per argument follows the whole fixed part (sections 6.1-6.2, 7.1).
  for (const n of argLengths) out[pos++] = byte(checkLen8(n, 'argument'), 'arg_len');
  for (const v of values) pos = writeField(out, v, pos);
  for (const a of argValues) pos = writeField(out, a, pos);
  return out;
}
