// `@netward/policy/testing`: what property tests of the grammars share. The policy's own grammar tests and
// the validator's (through the real validator) draw their random argv from these words, so that both
// search the same space: plain data, for each test to make its fast-check arbitraries from.

/**
 * Words no role may get through `ip`, `ping` or `traceroute`: options and subcommands of the programs the
 * validator runs that read a file, enter another namespace or VRF, or flood, and the files they would
 * read. Traceroute's own `-n` (numeric output) is the one the diagnostics grammar requires.
 */
const FORBIDDEN_WORDS: readonly string[] = [
  '-b',
  '-batch',
  '-force',
  '-n',
  '-f',
  '-i',
  '-l',
  '-s',
  'netns',
  'exec',
  'vrf',
  '/etc/shadow',
  '/etc/netward/tacacs.key',
];

/**
 * The words the default grammars are made of, and the ones an attacker reaches for (file, namespace and
 * flood options of `ip` and `ping`, a file to read, shell words, vtysh's -c and quoted vtysh lines).
 */
export const GRAMMAR_WORDS: readonly string[] = [
  'ip',
  'ping',
  'traceroute',
  'show',
  'vtysh',
  'configure',
  'terminal',
  'route',
  'addr',
  'link',
  'neigh',
  'set',
  'add',
  'flush',
  'dev',
  'lo',
  'eth0',
  'wg9',
  'up',
  'down',
  'sh',
  '-c',
  '-I',
  '-W',
  '-m',
  '-q',
  '-w',
  '-4',
  '-6',
  '0',
  '1',
  '3',
  '5',
  '6',
  '30',
  '65536',
  '192.0.2.1',
  '2001:db8::1',
  '10.0.0.0/8',
  'running-config',
  'bgp',
  'summary',
  'interface',
  'brief',
  'version',
  'description',
  'write',
  'memory',
  'clear',
  'soft',
  "'show bgp summary'",
  "'show running-config'",
  // and every forbidden word: what the tests check never gets through, they also try
  ...FORBIDDEN_WORDS,
];

const FORBIDDEN: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ['ip', new Set(FORBIDDEN_WORDS)],
  ['ping', new Set(FORBIDDEN_WORDS)],
  ['traceroute', new Set(FORBIDDEN_WORDS.filter((w) => w !== '-n'))],
]);

/** The words of `argv` that its program (`argv[0]`) must never be run with; none for other programs. */
export function forbiddenWords(argv: readonly string[]): string[] {
  const forbidden = FORBIDDEN.get(argv[0] ?? '');
  return forbidden === undefined ? [] : argv.filter((w) => forbidden.has(w));
}
