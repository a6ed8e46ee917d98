// Entry of the optional start-up snapshot (README "Speed"): bundled as CommonJS into
// dist/netward-forcecommand-snapshot.cjs, then on the device, with the node that will run it:
//   node --snapshot-blob /usr/local/lib/netward/forcecommand.blob --build-snapshot dist/netward-forcecommand-snapshot.cjs
// and ForceCommand `/usr/bin/node --snapshot-blob /usr/local/lib/netward/forcecommand.blob -- --config <file>`.
// The heap then starts with every module evaluated, instead of compiling and evaluating the bundle per command.
import { startupSnapshot } from 'node:v8';
import { preparseLocalRules } from './authorize.ts';
import { loadConfig } from './config.ts';
import { preparseGrammars } from './grammar.ts';
import { runAndExit } from './main.ts';
import { warmUp } from './warm-up.ts';

if (!startupSnapshot.isBuildingSnapshot()) {
  throw new Error('build a snapshot from this file (node --snapshot-blob F --build-snapshot), do not run it');
}
// Evaluate the lazily imported modules now, so the snapshot holds them: the local rules parser (the lean
// subpath, zod/mini only) and the TACACS+ client. The client can be in the snapshot since
// @netward/tacacs-plus loads node:tls only when TLS is configured: node 20.20's snapshot builder aborts
// ("Unknown external reference") on a script that has loaded node:tls, and the validator speaks plain
// TCP to its servers. The YAML config parser (@netward/kit, 261 kB of yaml) is left to a YAML config:
// the installer writes JSON, and evaluated in the heap it cost every command ~150 page faults and
// 0.16 MB of blob (Node 24.22).
void Promise.all([import('@netward/policy/local-rules'), import('@netward/tacacs-plus/client')]);
// With the device's config named (buildSnapshot({ config })), its local rules and grammar file are parsed
// now: a command whose file has exactly that text skips the parse (preparsed.ts).
const preload = process.env['NETWARD_FC_SNAPSHOT_CONFIG'];
if (preload !== undefined && preload !== '') {
  void loadConfig(preload).then(async (config) => {
    if (config.authorization.mode === 'local') await preparseLocalRules(config.authorization.rulesFile);
    if (config.grammarFile !== undefined) await preparseGrammars(config.grammarFile);
  });
}
// Then run the validator once in memory (and the TACACS+ codec, without a socket), so its hot functions
// are compiled in the snapshot too.
void warmUp();
// No script path in argv when starting from a snapshot: [node, ...args].
startupSnapshot.setDeserializeMainFunction(() => runAndExit(process.argv.slice(1)));
