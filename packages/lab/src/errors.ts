/**
 * Every failure of the lab is a LabError with a stable code. The operator reads the message and the
 * cause; scripts and tests branch on `code`.
 */
export type LabErrorCode =
  /** The lab configuration or a derived value (prefix, subnet, port) is invalid. */
  | 'ERR_LAB_CONFIG'
  /** The lab must run as root (network namespaces, sshd, FRR, accounts). */
  | 'ERR_LAB_NOT_ROOT'
  /** A required program (frr, sshd, ip, ...) is not installed. */
  | 'ERR_LAB_MISSING_PEER'
  /** A system command (ip, useradd, frrinit.sh, ssh-keygen, ...) failed. */
  | 'ERR_LAB_COMMAND'
  /** Something did not become ready in time (BGP routes, a service port). */
  | 'ERR_LAB_TIMEOUT'
  /** A lab service exited or refused to start. */
  | 'ERR_LAB_SERVICE'
  /** The browserless OAuth login failed at one of its steps. */
  | 'ERR_LAB_LOGIN'
  /** A demo step or a tool call did not produce what the lab expected. */
  | 'ERR_LAB_DEMO'
  /** The lab directory cannot work: a parent sshd's StrictModes refuses, or one the accounts cannot traverse. */
  | 'ERR_LAB_DIR'
  /** A command line that cannot be understood (unknown command or option, missing argument): exit 2. */
  | 'ERR_LAB_USAGE'
  /** The end-to-end self-check at the end of `up` failed: the lab is up but a tool call did not work. */
  | 'ERR_LAB_SELF_CHECK'
  /** A pinned download (Keycloak, OpenBao) could not be fetched or did not match its checksum. */
  | 'ERR_LAB_DOWNLOAD'
  /** The lab is not up (no state, no namespaces) when a command needs it. */
  | 'ERR_LAB_NOT_RUNNING';

export class LabError extends Error {
  override readonly name = 'LabError';
  readonly code: LabErrorCode;

  constructor(code: LabErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}
