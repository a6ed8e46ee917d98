/**
 * JWT verification with node:crypto's `verify` on a cached KeyObject instead of WebCrypto.
 *
 * jose 6 verifies through `crypto.subtle.verify`, whose argument normalisation and key handling run on
 * the event loop before the thread-pool job. Measured on the 2-core lab machine (EdDSA, one token at a
 * time): `jwtVerify` 215 µs of CPU in all, node:crypto's `verify` 126 µs synchronously, 150 µs with a
 * callback (thread pool). The synchronous form is the default: a thread-pool job takes the
 * verification off the event loop, but costs the process a wake-up of the loop when it completes
 * (~57 µs of CPU when the loop was idle, docs/node.md) and waits behind every other pool job.
 * `signatureOn: 'thread-pool'` keeps the callback form (the CA broker's bench compares the two).
 *
 * jose keeps what it is good at: the key function (remote JWKS fetching, caching, refetch on an unknown
 * `kid`, JWK import and the kid/alg/kty/use/key_ops selection) and its error classes. This module does
 * the rest exactly as jose 6.2's `jwtVerify` does (dist/webapi/lib/jws_verify.js, jwt_claims_set.js),
 * step by step and in the same order, so that every token gets the same answer and the same error:
 * test/jwt-differential.test.ts checks that against `jwtVerify` itself for valid tokens and mutations
 * of them. Nothing is cached between calls except the KeyObject converted from each CryptoKey.
 */
import { constants as cryptoConstants, verify as cryptoVerify, KeyObject, type webcrypto } from 'node:crypto';
import {
  base64url,
  type CompactJWSHeaderParameters,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
  errors as joseErrors,
  jwtVerify,
} from 'jose';

type CryptoKey = webcrypto.CryptoKey;

export interface JwtVerifierOptions {
  readonly issuer: string;
  readonly audience: string;
  readonly algorithms: readonly string[];
  /** Seconds. */
  readonly clockTolerance: number;
  /** Claims that must be present besides iss and aud (the verifier always requires `exp`). */
  readonly requiredClaims: readonly string[];
  /** The `typ` header the token must carry (jose's `typ` option; the verifier requires `at+jwt`). */
  readonly typ?: string;
  /** Where the signature is checked: on the calling thread (default) or on libuv's thread pool. */
  readonly signatureOn?: SignatureOn;
}

export type SignatureOn = 'event-loop' | 'thread-pool';

export interface JwtVerifier {
  /** The verified claims set; throws jose's own error classes, as `jwtVerify` would. */
  verify(token: string): Promise<JWTPayload>;
}

interface AlgorithmEntry {
  /** WebCrypto algorithm the CryptoKey must have been imported for (jose's `checkCryptoKey`). */
  readonly name: string;
  readonly hash?: string;
  readonly namedCurve?: string;
  /** RSA: jose refuses moduli under 2048 bits (`checkModulusLength`). */
  readonly minRsaBits?: number;
  /** node:crypto equivalent of jose's `entry.signing`. */
  readonly digest: string | null;
  readonly padding?: number;
  readonly saltLength?: number;
  readonly dsaEncoding?: 'ieee-p1363';
}

/** The algorithms the services are configured with (the broker's TOKEN_ALGORITHMS); anything else is
 *  verified by jose itself. */
const ALGORITHMS: Readonly<Record<string, AlgorithmEntry>> = Object.freeze({
  EdDSA: { name: 'Ed25519', digest: null },
  ES256: { name: 'ECDSA', namedCurve: 'P-256', digest: 'sha256', dsaEncoding: 'ieee-p1363' },
  RS256: {
    name: 'RSASSA-PKCS1-v1_5',
    hash: 'SHA-256',
    minRsaBits: 2048,
    digest: 'sha256',
    padding: cryptoConstants.RSA_PKCS1_PADDING,
  },
  // RFC 7518 section 3.5: the salt is as long as the hash.
  PS256: {
    name: 'RSA-PSS',
    hash: 'SHA-256',
    minRsaBits: 2048,
    digest: 'sha256',
    padding: cryptoConstants.RSA_PKCS1_PSS_PADDING,
    saltLength: 32,
  },
});

// jose's strictDecoder: fatal on invalid UTF-8 (and, like every TextDecoder, it drops a leading BOM).
const strictDecoder = new TextDecoder('utf-8', { fatal: true });
function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** jose's `isObject` for JSON.parse output: a plain object, not an array or null. */
function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCryptoKey(key: unknown): key is CryptoKey {
  return (key as { [Symbol.toStringTag]?: unknown } | null)?.[Symbol.toStringTag] === 'CryptoKey';
}

/** jose's base64url decode (atob-based, forgiving of padding and ASCII whitespace, as jose is). */
function decodeSegment(value: string, label: string): Uint8Array {
  try {
    return base64url.decode(value);
  } catch (cause) {
    throw new joseErrors.JWSInvalid(`Failed to base64url decode the ${label}`, { cause });
  }
}

function parseJson(bytes: Uint8Array): unknown {
  return JSON.parse(strictDecoder.decode(bytes));
}

const RECOGNIZED_CRIT = new Set(['b64']);

/** RFC 7515 section 4.1.11 and RFC 7797 section 3, as jose's `validateCrit` and `validateB64`. */
function checkCrit(header: Record<string, unknown>): boolean {
  const crit = header['crit'];
  if (crit === undefined) return true;
  if (
    !Array.isArray(crit) ||
    crit.length === 0 ||
    crit.some((p) => typeof p !== 'string' || p.length === 0)
  ) {
    throw new joseErrors.JWSInvalid(
      '"crit" (Critical) Header Parameter MUST be an array of non-empty strings when present',
    );
  }
  for (const p of crit as string[]) {
    if (!RECOGNIZED_CRIT.has(p)) {
      throw new joseErrors.JOSENotSupported(`Extension Header Parameter "${p}" is not recognized`);
    }
    if (!Object.hasOwn(header, p) || header[p] === undefined) {
      throw new joseErrors.JWSInvalid(`Extension Header Parameter "${p}" is missing`);
    }
  }
  if (!(crit as string[]).includes('b64')) return true;
  const b64 = header['b64'];
  if (typeof b64 !== 'boolean') {
    throw new joseErrors.JWSInvalid(
      'The "b64" (base64url-encode payload) Header Parameter must be a boolean',
    );
  }
  return b64;
}

/** jose's normalizeTyp: a media type without `/` is under `application/` (RFC 7515 section 4.1.9),
 *  compared case-insensitively, so `at+jwt` equals `application/at+jwt` and `AT+JWT`. */
function normalizeTyp(value: string): string {
  const lower = value.toLowerCase();
  return value.includes('/') ? lower : `application/${lower}`;
}

function claimFailed(payload: JWTPayload, claim: string, reason: string, message: string): never {
  throw new joseErrors.JWTClaimValidationFailed(message, payload, claim, reason);
}

function numericDate(payload: JWTPayload, claim: string): number | undefined {
  const value = payload[claim];
  if (value === undefined) return undefined;
  if (typeof value !== 'number') claimFailed(payload, claim, 'invalid', `"${claim}" claim must be a number`);
  return value;
}

/** jose's prepareKey / checkCryptoKey / checkModulusLength: TypeErrors, as there. */
function checkCryptoKey(key: CryptoKey, alg: string, entry: AlgorithmEntry): void {
  if (key.type !== 'public')
    throw new TypeError(`CryptoKey instances must be of type "public" for the ${alg} algorithm`);
  const algorithm = key.algorithm as {
    name: string;
    hash?: { name: string };
    namedCurve?: string;
    modulusLength?: number;
  };
  if (algorithm.name !== entry.name)
    throw new TypeError(
      `CryptoKey does not support this operation, its algorithm.name must be ${entry.name}`,
    );
  if (entry.hash && algorithm.hash?.name !== entry.hash)
    throw new TypeError(
      `CryptoKey does not support this operation, its algorithm.hash must be ${entry.hash}`,
    );
  if (entry.namedCurve && algorithm.namedCurve !== entry.namedCurve)
    throw new TypeError(
      `CryptoKey does not support this operation, its algorithm.namedCurve must be ${entry.namedCurve}`,
    );
  if (!key.usages.includes('verify'))
    throw new TypeError('CryptoKey does not support this operation, its usages must include verify.');
  if (
    entry.minRsaBits &&
    !(typeof algorithm.modulusLength === 'number' && algorithm.modulusLength >= entry.minRsaBits)
  ) {
    throw new TypeError(`${alg} requires key modulusLength to be 2048 bits or larger`);
  }
}

/** The node:crypto key argument for `entry`: DSA encoding or RSA padding as the algorithm needs. */
function verifyKeyFor(keyObject: KeyObject, entry: AlgorithmEntry) {
  if (entry.dsaEncoding) return { key: keyObject, dsaEncoding: entry.dsaEncoding };
  if (entry.padding === undefined) return keyObject;
  return {
    key: keyObject,
    padding: entry.padding,
    ...(entry.saltLength !== undefined ? { saltLength: entry.saltLength } : {}),
  };
}

/** RFC 7515 section 5.2 step 8 with node:crypto, on the calling thread or on the thread pool; any
 *  failure is jose's JWSSignatureVerificationFailed, as there. */
async function verifySignature(
  signingInput: string,
  signature: Uint8Array,
  keyObject: KeyObject,
  entry: AlgorithmEntry,
  on: SignatureOn,
): Promise<void> {
  let ok = false;
  try {
    const data = Buffer.from(signingInput, 'latin1');
    const verifyKey = verifyKeyFor(keyObject, entry);
    // With a callback, node:crypto runs the verification on libuv's thread pool: the loop is free
    // meanwhile, but wakes up once more for the result (see the module comment).
    ok =
      on === 'event-loop'
        ? cryptoVerify(entry.digest, data, verifyKey, signature)
        : await new Promise<boolean>((resolve, reject) => {
            cryptoVerify(entry.digest, data, verifyKey, signature, (err, valid) =>
              err ? reject(err) : resolve(valid),
            );
          });
  } catch (cause) {
    throw new joseErrors.JWSSignatureVerificationFailed(undefined, { cause });
  }
  if (!ok) throw new joseErrors.JWSSignatureVerificationFailed();
}

/** RFC 7515 section 5.2 steps 2 to 5 for the protected header, and the algorithm allowlist, as jose. */
function parseProtectedHeader(
  h: string,
  allowed: ReadonlySet<string>,
): { header: Record<string, unknown>; b64: boolean; alg: string } {
  let header: unknown;
  try {
    header = parseJson(base64url.decode(h));
  } catch (cause) {
    throw new joseErrors.JWSInvalid('JWS Protected Header is invalid', { cause });
  }
  if (!isPlainObject(header)) throw new joseErrors.JWSInvalid('JWS Protected Header is invalid');
  const b64 = checkCrit(header);
  const alg = header['alg'];
  if (typeof alg !== 'string' || !alg) {
    throw new joseErrors.JWSInvalid('JWS "alg" (Algorithm) Header Parameter missing or invalid');
  }
  if (!allowed.has(alg)) {
    throw new joseErrors.JOSEAlgNotAllowed('"alg" (Algorithm) Header Parameter value not allowed');
  }
  return { header, b64, alg };
}

/** The payload as a claims set: a top-level JSON object, as jose requires (RFC 7519 section 7.2). */
function parseClaimsSet(payloadBytes: Uint8Array): JWTPayload {
  let payload: unknown;
  try {
    payload = parseJson(payloadBytes);
  } catch (cause) {
    throw new joseErrors.JWTInvalid('JWT Claims Set must be a top-level JSON object', { cause });
  }
  if (!isPlainObject(payload))
    throw new joseErrors.JWTInvalid('JWT Claims Set must be a top-level JSON object');
  return payload as JWTPayload;
}

interface ClaimChecks {
  readonly expectedTyp: string | undefined;
  /** Claims that must be present, in jose's order. */
  readonly presence: readonly string[];
  readonly issuer: string;
  readonly audience: string;
  readonly tolerance: number;
}

/** jose's validateClaimsSet with issuer, audience, clockTolerance and requiredClaims, in its order. */
function validateClaims(
  claims: JWTPayload,
  header: Record<string, unknown>,
  checks: ClaimChecks,
  now: number,
): void {
  // jose checks `typ` right after parsing the claims set, before any claim.
  if (
    checks.expectedTyp !== undefined &&
    (typeof header['typ'] !== 'string' || normalizeTyp(header['typ']) !== checks.expectedTyp)
  ) {
    claimFailed(claims, 'typ', 'check_failed', 'unexpected "typ" JWT header value');
  }
  for (const claim of checks.presence) {
    if (!Object.hasOwn(claims, claim))
      claimFailed(claims, claim, 'missing', `missing required "${claim}" claim`);
  }
  if (claims.iss !== checks.issuer)
    claimFailed(claims, 'iss', 'check_failed', 'unexpected "iss" claim value');
  const aud = claims.aud;
  if (
    !(typeof aud === 'string'
      ? aud === checks.audience
      : Array.isArray(aud) && (aud as unknown[]).includes(checks.audience))
  ) {
    claimFailed(claims, 'aud', 'check_failed', 'unexpected "aud" claim value');
  }
  numericDate(claims, 'iat');
  const nbf = numericDate(claims, 'nbf');
  if (nbf !== undefined && nbf > now + checks.tolerance) {
    claimFailed(claims, 'nbf', 'check_failed', '"nbf" claim timestamp check failed');
  }
  const exp = numericDate(claims, 'exp');
  if (exp !== undefined && exp <= now - checks.tolerance) {
    throw new joseErrors.JWTExpired('"exp" claim timestamp check failed', claims, 'exp', 'check_failed');
  }
}

/** The KeyObject of each CryptoKey, converted once, after jose's checks of the key for `alg`. */
function keyObjectCache(): (key: CryptoKey, alg: string, entry: AlgorithmEntry) => KeyObject {
  const keyObjects = new WeakMap<CryptoKey, KeyObject>();
  return (key, alg, entry) => {
    checkCryptoKey(key, alg, entry);
    let ko = keyObjects.get(key);
    if (!ko) {
      ko = KeyObject.from(key);
      keyObjects.set(key, ko);
    }
    return ko;
  };
}

export function createJwtVerifier(
  options: JwtVerifierOptions,
  getKey: JWTVerifyGetKey,
  clock: () => number = Date.now,
): JwtVerifier {
  const allowed = new Set(options.algorithms);
  const signatureOn = options.signatureOn ?? 'event-loop';
  // iss, aud, then the required claims, in jose's order (it checks the reversed list).
  const presence = [...new Set([...options.requiredClaims, 'aud', 'iss'].reverse())];
  const tolerance = options.clockTolerance;
  if (!Number.isFinite(tolerance) || tolerance < 0) throw new TypeError('Invalid clockTolerance option');
  const joseOptions: JWTVerifyOptions = Object.freeze({
    issuer: options.issuer,
    audience: options.audience,
    algorithms: [...options.algorithms],
    clockTolerance: tolerance,
    requiredClaims: [...options.requiredClaims],
    ...(options.typ === undefined ? {} : { typ: options.typ }),
  });
  const expectedTyp = options.typ === undefined ? undefined : normalizeTyp(options.typ);
  const checks: ClaimChecks = {
    expectedTyp,
    presence,
    issuer: options.issuer,
    audience: options.audience,
    tolerance,
  };

  const keyObjectFor = keyObjectCache();

  return {
    async verify(token) {
      if (typeof token !== 'string')
        throw new joseErrors.JWSInvalid('Compact JWS must be a string or Uint8Array');
      const parts = token.split('.');
      if (parts.length !== 3) throw new joseErrors.JWSInvalid('Invalid Compact JWS');
      const [h, p, s] = parts as [string, string, string];
      const { header, b64, alg } = parseProtectedHeader(h, allowed);
      // Compact serialisation: the payload must be ASCII; jose checks an unencoded one (b64 false)
      // before resolving the key and an encoded one after.
      if (!b64 && !isAscii(p)) {
        throw new joseErrors.JWSInvalid('JWS Compact Serialization payload must use only ASCII characters');
      }
      const key = await getKey(header as CompactJWSHeaderParameters, {
        payload: p,
        protected: h,
        signature: s,
      });
      const entry = ALGORITHMS[alg];
      if (!isCryptoKey(key) || entry === undefined) {
        // Not a CryptoKey from a JWK set (a test's KeyObject or JWK), or an algorithm this module does
        // not know: jose does the whole verification, with the key already resolved.
        return (await jwtVerify(token, () => key, { ...joseOptions, currentDate: new Date(clock()) }))
          .payload;
      }
      if (!isAscii(p)) throw new joseErrors.JWSInvalid('The payload is not a valid base64url string');
      const signature = decodeSegment(s, 'signature');
      const keyObject = keyObjectFor(key, alg, entry);
      await verifySignature(
        token.slice(0, h.length + 1 + p.length),
        signature,
        keyObject,
        entry,
        signatureOn,
      );
      if (!b64) throw new joseErrors.JWTInvalid('JWTs MUST NOT use unencoded payload');
      const payloadBytes = decodeSegment(p, 'payload');

      // validateClaimsSet, with issuer, audience, clockTolerance and requiredClaims as configured.
      const claims = parseClaimsSet(payloadBytes);
      validateClaims(claims, header, checks, Math.floor(clock() / 1000));
      return claims;
    },
  };
}
