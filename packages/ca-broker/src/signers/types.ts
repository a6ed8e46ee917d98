import type { KeyObject } from 'node:crypto';

/** What the service asks a backend to certify. The backend returns a certificate line; the service
 *  parses it and checks every field against this request before anyone sees it. */
export interface UserCertificateRequest {
  /** The Ed25519 key to certify (KeyObject or its 32 raw bytes). */
  readonly publicKey: KeyObject | Uint8Array;
  /** `ssh-ed25519 AAAA...` without comment. */
  readonly publicKeyLine: string;
  /** Policy role name: the device account, and the name of the backend's signing role for it. */
  readonly role: string;
  /** The certificate's only principal: the role, or `<role>@<device>` when certificates are bound to
   *  one device (config certificate.devicePrincipal). */
  readonly principal: string;
  readonly keyId: string;
  readonly ttlSeconds: number;
  readonly backdateSeconds: number;
  readonly extensions: readonly string[];
  readonly criticalOptions: Readonly<Record<string, string>>;
  /** The caller's verified token, for backends that log in with it (Vault JWT auth). Never logged. */
  readonly token: string;
}

export interface HostCertificateRequest {
  readonly publicKey: KeyObject | Uint8Array;
  readonly publicKeyLine: string;
  readonly principals: readonly string[];
  readonly keyId: string;
  readonly validitySeconds: number;
  readonly backdateSeconds: number;
}

export interface SigningBackend {
  readonly kind: 'local' | 'vault';
  /** True when certificates are signed in this process with a key it holds. The service then skips
   *  re-verifying the signature (an Ed25519 verification per certificate, ~17% of the CPU of a request
   *  in the benchmark profile) and still checks every field and the CA key the certificate names. */
  readonly inProcess: boolean;
  /** Resolves to a certificate line; rejects with ERR_CA_BACKEND_UNAVAILABLE when it cannot sign. */
  signUser(request: UserCertificateRequest): Promise<string>;
  signHost(request: HostCertificateRequest): Promise<string>;
  /** The user CA public key line (what devices put in TrustedUserCAKeys). */
  userCaPublicKey(): Promise<string>;
  /** The host CA public key line, when host signing is configured. */
  hostCaPublicKey(): Promise<string | undefined>;
  /** Rejects when the backend cannot sign right now (readiness). */
  ready(): Promise<void>;
  close(): Promise<void>;
}
