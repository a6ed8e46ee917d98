/** How a test's OpenSSH client logs in: no config file, no prompt, only the identities named here. */
export interface SshClientOptions {
  /** Port of the sshd (on the host the caller names). Default: ssh's own (22). */
  readonly port?: number;
  /** Private key file, the only one offered (IdentitiesOnly). */
  readonly identity?: string;
  /** Its certificate (`CertificateFile`). */
  readonly certificate?: string;
  /**
   * known_hosts to check the server against (StrictHostKeyChecking=yes, no global file). Without it,
   * the host key is not checked: for tests whose subject is the user side of the login.
   */
  readonly knownHosts?: string;
  /** Further `-o` options, e.g. `KexAlgorithms=curve25519-sha256` or `IdentityAgent=<socket>`. */
  readonly options?: readonly string[];
}

/** The `ssh` arguments before the destination: one place for what every test's client must set. */
export function sshClientArgs(o: SshClientOptions): string[] {
  const hostKey =
    o.knownHosts === undefined
      ? ['StrictHostKeyChecking=no', 'UserKnownHostsFile=/dev/null']
      : ['StrictHostKeyChecking=yes', `UserKnownHostsFile=${o.knownHosts}`, 'GlobalKnownHostsFile=/dev/null'];
  const options = [
    ...(o.identity === undefined ? [] : ['IdentitiesOnly=yes']),
    ...(o.certificate === undefined ? [] : [`CertificateFile=${o.certificate}`]),
    'BatchMode=yes',
    ...hostKey,
    'LogLevel=ERROR',
    ...(o.options ?? []),
  ];
  return [
    '-F',
    '/dev/null',
    ...(o.port === undefined ? [] : ['-p', String(o.port)]),
    ...(o.identity === undefined ? [] : ['-i', o.identity]),
    ...options.flatMap((opt) => ['-o', opt]),
  ];
}
