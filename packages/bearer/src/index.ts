// The public API of @netward/bearer. Anything exported here is public; everything else is not.
export { BEARER_ERRORS, BearerError, type BearerErrorCode, mapJoseError } from './errors.ts';
export type { SignatureOn } from './jwt.ts';
export { type KeySource, type RemoteKeysOptions, remoteKeys } from './keys.ts';
export {
  type ActorOptions,
  type BearerIdentity,
  type BearerVerifier,
  type BearerVerifierOptions,
  createBearerVerifier,
} from './verifier.ts';
