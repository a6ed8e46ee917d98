import { join } from 'node:path';
import { ForceCommandError } from './errors.ts';
import { splitWords } from './input.ts';
import type { VtyRoute } from './vty.ts';

/**
 * One entry of the device's executable allowlist: the only programs the validator ever starts, by
 * absolute path, with fixed leading arguments the client cannot change (an FRR pathspace, a config dir).
 * `style: vtysh` means the client's arguments must be `-c '<cli>'` pairs, each authorized on its own.
 */
export interface ExecutableSpec {
  readonly path: string;
  readonly args: readonly string[];
  readonly style: 'argv' | 'vtysh';
  /**
   * vtysh only: CLI lines one FRR daemon answers alone, sent to `<socketDir>/<daemon>.vty` instead of
   * starting vtysh (vty.ts). Exact lines; anything else still runs through vtysh.
   */
  readonly vty?: VtyRouting | undefined;
}

export interface VtyRouting {
  readonly socketDir: string;
  /** CLI line (words joined by single spaces) → daemon. */
  readonly commands: Readonly<Record<string, string>>;
}

export interface CliRouting {
  /** Allowlist name of the executable that runs bare CLI commands (`vtysh` on FRR, the op-mode wrapper on VyOS). */
  readonly executable: string;
  /** First words routed there: `show bgp summary` becomes `vtysh ... -c 'show bgp summary'`. */
  readonly commands: readonly string[];
}

export interface NormalizeOptions {
  readonly executables: Readonly<Record<string, ExecutableSpec>>;
  readonly cli?: CliRouting | undefined;
  /** Vendor wrappers stripped from the front, by base name. */
  readonly wrappers: readonly string[];
  /** Most `-c` commands in one vtysh call. */
  readonly maxCliCommands: number;
}

/** What the policy is asked, once per request: the TACACS+ `cmd` and `cmd-arg`s. */
export interface AuthzRequest {
  readonly cmd: string;
  readonly args: readonly string[];
}

/** The result of stage 2: what would be authorized, and exactly what would run if it all is. */
export interface ExecutionPlan {
  /** Allowlist name of the executable. */
  readonly executable: string;
  /** Absolute path from the allowlist (never from the client). */
  readonly file: string;
  /** Arguments after the file: fixed ones from the allowlist, then the normalised client ones. */
  readonly args: readonly string[];
  readonly requests: readonly AuthzRequest[];
  /** The vendor wrapper that was stripped, if any. */
  readonly wrapper?: string;
  /** True when a bare CLI command was routed to the CLI executable. */
  readonly routedToCli: boolean;
  /** Set when the one CLI line goes straight to the daemon that answers it (no vtysh process). */
  readonly vty?: VtyRoute;
}

export const DEFAULT_WRAPPERS: readonly string[] = Object.freeze(['vyatta-op-cmd-wrapper']);

/**
 * `/usr/local/bin/show` → `show`. A bare name is kept. A relative path (`./show`, `bin/sh`) is refused:
 * it would name a file relative to the account's home, which nothing legitimate sends.
 */
export function baseName(word: string): string {
  if (!word.includes('/')) return word;
  if (!word.startsWith('/')) {
    throw new ForceCommandError('ERR_FC_NOT_EXECUTABLE', 'relative path', {
      detail: { reason: 'relative path' },
    });
  }
  const base = word.slice(word.lastIndexOf('/') + 1);
  if (base === '')
    throw new ForceCommandError('ERR_FC_NOT_EXECUTABLE', undefined, { detail: { reason: 'directory' } });
  return base;
}

/** CLI text inside `-c`: words separated by any run of spaces, rejoined by one space (what runs = what is asked). */
function cliWords(text: string): string[] {
  return text.split(' ').filter((w) => w !== '');
}

function lookup(options: NormalizeOptions, name: string): ExecutableSpec | undefined {
  return Object.hasOwn(options.executables, name) ? options.executables[name] : undefined;
}

function checkPlainArgs(args: readonly string[]): void {
  for (const a of args) {
    // tac_plus-ng (and the local rules) see `cmd` and the args joined by single spaces, so `'route show'`
    // and `route show` would be the same string to the policy but different argv to the program.
    if (a === '' || a.includes(' ')) {
      throw new ForceCommandError('ERR_FC_ARGUMENT', undefined, {
        detail: { reason: 'empty or spaced argument' },
      });
    }
  }
}

function vtyshPlan(name: string, spec: ExecutableSpec, rest: readonly string[], options: NormalizeOptions) {
  const clis: string[][] = [];
  for (let i = 0; i < rest.length; i += 2) {
    const opt = rest[i];
    const value = rest[i + 1];
    if ((opt !== '-c' && opt !== '--command') || value === undefined) {
      throw new ForceCommandError('ERR_FC_VTYSH_OPTION', undefined, { detail: { position: i + 1 } });
    }
    const words = cliWords(value);
    if (words.length === 0) {
      throw new ForceCommandError('ERR_FC_VTYSH_OPTION', undefined, { detail: { reason: 'empty -c' } });
    }
    clis.push(words);
  }
  if (clis.length === 0) {
    // vtysh without -c is its interactive shell.
    throw new ForceCommandError('ERR_FC_VTYSH_OPTION', undefined, { detail: { reason: 'no -c' } });
  }
  if (clis.length > options.maxCliCommands) {
    throw new ForceCommandError('ERR_FC_VTYSH_OPTION', undefined, {
      detail: { reason: 'too many -c', count: clis.length, max: options.maxCliCommands },
    });
  }
  const lines = clis.map((w) => w.join(' '));
  return {
    executable: name,
    file: spec.path,
    args: [...spec.args, ...lines.flatMap((line) => ['-c', line])],
    requests: clis.map(([cmd, ...args]) => ({ cmd: cmd as string, args })),
    ...vtyRoute(spec, lines),
  };
}

/** A single line the device's config names for one daemon goes to that daemon's vty socket. */
function vtyRoute(spec: ExecutableSpec, lines: readonly string[]): { vty?: VtyRoute } {
  const line = lines[0];
  if (spec.vty === undefined || lines.length !== 1 || line === undefined) return {};
  const daemon = Object.hasOwn(spec.vty.commands, line) ? spec.vty.commands[line] : undefined;
  return daemon === undefined
    ? {}
    : { vty: { daemon, socket: join(spec.vty.socketDir, `${daemon}.vty`), line } };
}

/**
 * Stage 2. Splits the command, strips one vendor wrapper, reduces an absolute path to its base name,
 * unwraps `vtysh -c`, routes bare CLI commands, and resolves the executable on the allowlist.
 * Throws ForceCommandError with a stage-2 code; never touches the file system.
 */
export function normalize(command: string, options: NormalizeOptions): ExecutionPlan {
  let words = splitWords(command);
  if (words.length === 0) throw new ForceCommandError('ERR_FC_EMPTY');
  let name = baseName(words[0] as string);
  let wrapper: string | undefined;
  if (options.wrappers.includes(name)) {
    wrapper = name;
    words = words.slice(1);
    if (words.length === 0)
      throw new ForceCommandError('ERR_FC_WRAPPER', undefined, { detail: { reason: 'nothing to run' } });
    name = baseName(words[0] as string);
    if (options.wrappers.includes(name)) {
      throw new ForceCommandError('ERR_FC_WRAPPER', undefined, { detail: { reason: 'nested wrapper' } });
    }
  }
  if (name === '')
    throw new ForceCommandError('ERR_FC_NOT_EXECUTABLE', undefined, { detail: { reason: 'empty name' } });
  const rest = words.slice(1);
  const withWrapper = wrapper === undefined ? {} : { wrapper };

  const direct = lookup(options, name);
  if (direct !== undefined) {
    if (direct.style === 'vtysh')
      return { ...vtyshPlan(name, direct, rest, options), ...withWrapper, routedToCli: false };
    checkPlainArgs(rest);
    return {
      executable: name,
      file: direct.path,
      args: [...direct.args, ...rest],
      requests: [{ cmd: name, args: rest }],
      ...withWrapper,
      routedToCli: false,
    };
  }

  const cli = options.cli;
  const cliSpec = cli === undefined ? undefined : lookup(options, cli.executable);
  if (cli !== undefined && cliSpec !== undefined && cli.commands.includes(name)) {
    if (cliSpec.style === 'vtysh') {
      const joined = [name, ...rest].join(' ');
      const words2 = cliWords(joined);
      const line = words2.join(' ');
      return {
        executable: cli.executable,
        file: cliSpec.path,
        args: [...cliSpec.args, '-c', line],
        requests: [{ cmd: name, args: words2.slice(1) }],
        ...withWrapper,
        routedToCli: true,
        ...vtyRoute(cliSpec, [line]),
      };
    }
    checkPlainArgs(rest);
    return {
      executable: cli.executable,
      file: cliSpec.path,
      args: [...cliSpec.args, name, ...rest],
      requests: [{ cmd: name, args: rest }],
      ...withWrapper,
      routedToCli: true,
    };
  }
  throw new ForceCommandError('ERR_FC_NOT_EXECUTABLE', undefined, {
    detail: { reason: 'not on the allowlist' },
  });
}

/** The command as tac_plus-ng (and the local rules) see it: `cmd` and each arg joined by single spaces. */
export function requestString(request: AuthzRequest): string {
  return [request.cmd, ...request.args].join(' ');
}
