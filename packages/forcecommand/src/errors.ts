import { defineCatalogue, NetwardError } from '@netward/errors';

/**
 * Every refusal of the validator is a ForceCommandError with a stable code. The code, the stage and the
 * exit status are what the client (and through it the agent) sees; the cause and detail go only to the
 * operator's audit record.
 *
 * Exit statuses 100-123 are the validator's own, chosen above the range the allowlisted tools use
 * (ping, traceroute, ip and vtysh exit with 0-2) and below the shell's 124-165 conventions and ssh's 255,
 * so a caller can tell "refused by the device" from "the command ran and failed".
 */
export const FC_ERRORS = defineCatalogue({
  /** Stage 1: empty command, an interactive shell request. */
  ERR_FC_EMPTY: { exit: 100, stage: 'input', message: 'interactive shell not permitted' },
  /** Stage 1: a character outside [a-zA-Z0-9 _./:,=@'-]. */
  ERR_FC_METACHARACTER: { exit: 101, stage: 'input', message: 'disallowed characters' },
  /** Stage 1: an odd number of single quotes. */
  ERR_FC_UNBALANCED_QUOTE: { exit: 102, stage: 'input', message: 'unbalanced quotes' },
  /** Stage 1: longer than limits.maxCommandLength. */
  ERR_FC_TOO_LONG: { exit: 103, stage: 'input', message: 'command too long' },
  /** Stage 2: a vtysh option other than -c, -c without a command, or vtysh without -c. */
  ERR_FC_VTYSH_OPTION: { exit: 104, stage: 'normalize', message: 'vtysh: only -c <command> is permitted' },
  /** Stage 2: a wrapper inside a wrapper, or a wrapper with nothing to run. */
  ERR_FC_WRAPPER: { exit: 105, stage: 'normalize', message: 'wrapper not permitted here' },
  /** Stage 2: an argument of a plain executable that is empty or contains a space (ambiguous for rules). */
  ERR_FC_ARGUMENT: { exit: 106, stage: 'normalize', message: 'ambiguous argument' },
  /** Stage 2: the command is not on the device's executable allowlist. */
  ERR_FC_NOT_EXECUTABLE: { exit: 107, stage: 'normalize', message: 'command not available' },
  /** Who is asking: no certificate, a certificate without the account, or client claims that disagree. */
  ERR_FC_IDENTITY: { exit: 108, stage: 'identity', message: 'identity check failed' },
  /** Stage 3: the policy (TACACS+ FAIL or a local deny rule) refuses the command. */
  ERR_FC_NOT_AUTHORIZED: { exit: 109, stage: 'authorize', message: 'command not authorized' },
  /** Stage 3: TACACS+ unreachable, slow, wrong key, garbage, or an unusable answer: fail closed. */
  ERR_FC_AUTHZ_UNAVAILABLE: {
    exit: 110,
    stage: 'authorize',
    message: 'authorization unavailable (fail-closed)',
  },
  /** The audit record could not be written to the local file: nothing runs unrecorded. */
  ERR_FC_AUDIT: { exit: 111, stage: 'audit', message: 'audit unavailable' },
  /** The configuration (or a file it names) is missing, invalid or has unsafe ownership/permissions. */
  ERR_FC_CONFIG: { exit: 112, stage: 'config', message: 'validator misconfigured' },
  /** The permitted executable could not be started. */
  ERR_FC_EXEC: { exit: 113, stage: 'execute', message: 'command could not be started' },
  /** Anything unexpected: still a deny. */
  ERR_FC_INTERNAL: { exit: 114, stage: 'internal', message: 'internal error' },
  /**
   * Stage 2b: a request the role's command grammar does not describe (an option, a value or a
   * subcommand outside it, an interface not on this device), or a role the grammar file does not know.
   */
  ERR_FC_GRAMMAR: { exit: 115, stage: 'grammar', message: 'command not permitted by the policy grammar' },
  /**
   * Who is asking: the certificate sshd accepted at login is outside its validity window now. sshd
   * checks validity once, at authentication; a connection kept open (ControlMaster, session mode) could
   * otherwise open new sessions for as long as it lives.
   */
  ERR_FC_CERT_EXPIRED: { exit: 116, stage: 'identity', message: 'certificate expired or not yet valid' },
  /**
   * sshd handed the validator variables that steer node, the dynamic loader, OpenSSL or libc
   * (NODE_OPTIONS, LD_PRELOAD, ...): AcceptEnv or PermitUserEnvironment is wider than MCP_*.
   */
  ERR_FC_ENVIRONMENT: { exit: 117, stage: 'environment', message: 'unsafe environment (sshd misconfigured)' },
  /**
   * Session mode: bytes on the channel that are not a valid request frame (a length of 0 or over the
   * limit, an unknown type, a body that is not the request object, a stream cut inside a frame, too
   * many requests queued). The channel ends; nothing of it runs.
   */
  ERR_FC_FRAME: { exit: 118, stage: 'session', message: 'malformed session frame' },
  /**
   * Resident validator: bytes on the connection that are not one CALL frame (a length of 0 or over
   * MAX_CALL_FRAME, another type, an entry outside the list, a name twice, a stream cut or too slow).
   * Nothing runs.
   */
  ERR_FC_CALL_FRAME: { exit: 119, stage: 'resident', message: 'malformed call frame' },
  /** Resident validator: as many requests as limits.maxResidentRequests are running already. */
  ERR_FC_BUSY: { exit: 120, stage: 'resident', message: 'too many concurrent requests' },
  /**
   * The ForceCommand shim: the resident validator's answer ended without an EXIT frame, or was not
   * framed as it must be. The command may have run; nothing is retried.
   */
  ERR_FC_RESIDENT: { exit: 121, stage: 'resident', message: 'resident validator failed (fail-closed)' },
  /** `netward-forcecommand resident` was started as root: it runs as the account it serves. */
  ERR_FC_RESIDENT_ROOT: { exit: 122, stage: 'resident', message: 'resident validator must not run as root' },
  /** The permitted command ran past limits.runTimeoutMs and was killed (coreutils timeout(1) uses 124). */
  ERR_FC_TIMEOUT: { exit: 124, stage: 'execute', message: 'command timed out' },
});

export type ForceCommandErrorCode = keyof typeof FC_ERRORS;
export type Stage = (typeof FC_ERRORS)[ForceCommandErrorCode]['stage'];

export class ForceCommandError extends NetwardError<ForceCommandErrorCode> {
  static override readonly catalogue = FC_ERRORS;
  override readonly name = 'ForceCommandError';

  override get stage(): Stage {
    return FC_ERRORS[this.code].stage;
  }
}

/** The only text a refused client sees: stage, code and a fixed message. No detail, no echo of input. */
export function clientMessage(code: ForceCommandErrorCode): string {
  const entry = FC_ERRORS[code];
  return `netward: denied at ${entry.stage}: ${entry.message} (${code})\n`;
}
