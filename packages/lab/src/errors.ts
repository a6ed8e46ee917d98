import { defineCatalogue, NetwardError } from '@netward/errors';

/**
 * Every failure of the lab is a LabError with a stable code. The operator reads the message and the
 * cause; scripts and tests branch on `code`. Both programs exit 2 on a usage error and 1 on any other.
 */
export const LAB_ERRORS = defineCatalogue({
  /** The lab configuration or a derived value (prefix, subnet, port) is invalid. */
  ERR_LAB_CONFIG: { message: 'invalid lab configuration' },
  /** The lab must run as root (network namespaces, sshd, FRR, accounts). */
  ERR_LAB_NOT_ROOT: { message: 'the lab must run as root' },
  /** A required program (frr, sshd, ip, ...) is not installed. */
  ERR_LAB_MISSING_PEER: { message: 'a required program is missing' },
  /** A system command (ip, useradd, frrinit.sh, ssh-keygen, ...) failed. */
  ERR_LAB_COMMAND: { message: 'a system command failed' },
  /** Something did not become ready in time (BGP routes, a service port). */
  ERR_LAB_TIMEOUT: { message: 'not ready in time' },
  /** A lab service exited or refused to start. */
  ERR_LAB_SERVICE: { message: 'a lab service failed' },
  /** The browserless OAuth login failed at one of its steps. */
  ERR_LAB_LOGIN: { message: 'login failed' },
  /** A demo step or a tool call did not produce what the lab expected. */
  ERR_LAB_DEMO: { message: 'a demo step did not give the expected result' },
  /** The lab directory cannot work: a parent sshd's StrictModes refuses, or one the accounts cannot traverse. */
  ERR_LAB_DIR: { message: 'the lab directory cannot be used' },
  /** A command line that cannot be understood (unknown command or option, missing argument). Exit 2, as
   *  getopt-based tools and the BSD sysexits convention use. */
  ERR_LAB_USAGE: { message: 'usage error', exit: 2 },
  /** The end-to-end self-check at the end of `up` failed: the lab is up but a tool call did not work. */
  ERR_LAB_SELF_CHECK: { message: 'the self-check after up failed' },
  /** A pinned download (Keycloak, OpenBao) could not be fetched or did not match its checksum. */
  ERR_LAB_DOWNLOAD: { message: 'a pinned download failed' },
  /** The lab is not up (no state, no namespaces) when a command needs it. */
  ERR_LAB_NOT_RUNNING: { message: 'the lab is not running' },
});
export type LabErrorCode = keyof typeof LAB_ERRORS;

export class LabError extends NetwardError<LabErrorCode> {
  static override readonly catalogue = LAB_ERRORS;
  override readonly name = 'LabError';

  constructor(code: LabErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
