/**
 * Variables that must never reach the validator. sshd gives the ForceCommand a fresh environment plus
 * what `AcceptEnv` (client-sent) and `PermitUserEnvironment` (~/.ssh/environment) let in; the device
 * config lets in MCP_* only. Anything below means that config was widened, and each one can change what
 * runs before or inside the validator:
 * - NODE_*: NODE_OPTIONS (`--require`, `--inspect`), NODE_PATH, NODE_V8_COVERAGE and
 *   NODE_REDIRECT_WARNINGS (write files), NODE_EXTRA_CA_CERTS, NODE_ICU_DATA, ...;
 * - LD_* (ld.so(8): LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT), GLIBC_TUNABLES (CVE-2023-4911), MALLOC_*,
 *   GCONV_PATH, LOCPATH, NLSPATH: glibc loads code or data from them;
 * - OPENSSL_* (OPENSSL_CONF loads engines and providers), SSL_CERT_FILE/DIR, UV_* (libuv);
 * - HOSTALIASES, LOCALDOMAIN, RES_OPTIONS, RESOLV_HOST_CONF: name resolution (TACACS+/syslog hosts);
 * - ENV, BASH_ENV, IFS, CDPATH, PS4: read by shells (sshd starts the ForceCommand through /bin/sh);
 * - PERL* (perlrun(1): PERL5OPT takes -M/-I switches, PERL5LIB/PERLLIB load modules, PERL5DB a
 *   debugger, PERLIO layers, PERL_* many more): perl applies them at its start, before the resident
 *   shim's first line, as node applies NODE_OPTIONS; one prefix covers them all;
 * - NETWARD_*: our own namespace, set only by the environment guard (see forceCommandLine).
 * TZ is not on the list: sshd copies its own TZ into every session (session.c, do_setup_env).
 */
export const HOSTILE_PREFIXES: readonly string[] = Object.freeze([
  'NODE_',
  'LD_',
  'MALLOC_',
  'OPENSSL_',
  'UV_',
  'PERL',
  'NETWARD_',
]);

export const HOSTILE_NAMES: readonly string[] = Object.freeze([
  'GLIBC_TUNABLES',
  'GCONV_PATH',
  'LOCPATH',
  'NLSPATH',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'HOSTALIASES',
  'LOCALDOMAIN',
  'RES_OPTIONS',
  'RESOLV_HOST_CONF',
  'ENV',
  'BASH_ENV',
  'IFS',
  'CDPATH',
  'PS4',
]);

/** Set by the guard to the names (never the values) of the hostile variables it removed. */
export const GUARD_VARIABLE = 'NETWARD_HOSTILE_ENV';

export function isHostileName(name: string): boolean {
  return HOSTILE_NAMES.includes(name) || HOSTILE_PREFIXES.some((p) => name.startsWith(p));
}

/**
 * The names of the hostile variables in `env`, sorted; includes those the guard reported in
 * NETWARD_HOSTILE_ENV (which is itself hostile: a client that sends it is refused too).
 */
export function hostileVariables(env: Readonly<Record<string, string | undefined>>): string[] {
  const names = new Set<string>();
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || !isHostileName(name)) continue;
    if (name === GUARD_VARIABLE) {
      for (const n of value.split(',')) if (/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(n)) names.add(n);
    }
    names.add(name);
  }
  return [...names].sort();
}

/**
 * The environment guard: a POSIX sh script that sshd's ForceCommand runs in front of node (or of the
 * resident shim, a perl script, which reads PERL* as node reads NODE_OPTIONS). node applies
 * NODE_OPTIONS (and ld.so applies LD_*) before any JavaScript runs, so the validator's own check would
 * come too late to stop a `--require`. With nothing hostile the guard execs node unchanged (one sh start,
 * ~1 ms). Otherwise it execs node with an empty environment except what the validator needs to
 * identify the caller and record the refusal (SSH_USER_AUTH, SSH_ORIGINAL_COMMAND, MCP_*) and
 * NETWARD_HOSTILE_ENV=<names>; the validator then denies with ERR_FC_ENVIRONMENT. `export -p` is a
 * builtin of dash and prints one `export NAME=...` per variable: a value with a newline can at worst
 * make a harmless variable look hostile (a deny), never hide one.
 */
export function renderEnvGuard(): string {
  const patterns = [...HOSTILE_PREFIXES.map((p) => `${p}*`), ...HOSTILE_NAMES];
  return `#!/bin/sh
# netward environment guard (packages/forcecommand/src/environment.ts): written by the installer.
set -f
hostile=
nl='
'
IFS=$nl
for line in $(export -p); do
  name=\${line#export }
  [ "$name" = "$line" ] && continue
  name=\${name%%=*}
  case "$name" in
    ${patterns.join('|')}) hostile="\${hostile:+$hostile,}$name" ;;
  esac
done
unset IFS
[ -z "$hostile" ] && exec "$@"
exec /usr/bin/env -i ${GUARD_VARIABLE}="$hostile" \\
  \${SSH_USER_AUTH+"SSH_USER_AUTH=$SSH_USER_AUTH"} \\
  \${SSH_ORIGINAL_COMMAND+"SSH_ORIGINAL_COMMAND=$SSH_ORIGINAL_COMMAND"} \\
  \${MCP_USER+"MCP_USER=$MCP_USER"} \${MCP_SID+"MCP_SID=$MCP_SID"} \\
  \${MCP_REQUEST_ID+"MCP_REQUEST_ID=$MCP_REQUEST_ID"} \${MCP_TOOL+"MCP_TOOL=$MCP_TOOL"} \\
  "$@"
`;
}
