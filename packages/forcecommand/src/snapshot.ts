// Entry of the optional start-up snapshot (README "Speed"): bundled as CommonJS into
// dist/netward-forcecommand-snapshot.cjs, then on the device, with the node that will run it:
//   node --snapshot-blob /usr/local/lib/netward/forcecommand.blob --build-snapshot dist/netward-forcecommand-snapshot.cjs
// and ForceCommand `/usr/bin/node --snapshot-blob /usr/local/lib/netward/forcecommand.blob -- --config <file>`.
// The heap then starts with every module evaluated, instead of compiling and evaluating ~1.4 MB per command.
import { startupSnapshot } from 'node:v8';
import { runAndExit } from './main.ts';
import { warmUp } from './warm-up.ts';

if (!startupSnapshot.isBuildingSnapshot()) {
  throw new Error('build a snapshot from this file (node --snapshot-blob F --build-snapshot), do not run it');
}
// Evaluate the lazily imported modules of local mode now, so the snapshot holds them. Not
// @netward/tacacs-plus: it loads node:tls, and node 20.20's snapshot builder aborts ("Unknown external
// reference") on any script that loads node:tls, so TACACS+ mode still evaluates it per command.
void Promise.all([import('@netward/policy'), import('yaml')]);
// Then run the validator once in memory, so its hot functions are compiled in the snapshot too.
void warmUp();
// No script path in argv when starting from a snapshot: [node, ...args].
startupSnapshot.setDeserializeMainFunction(() => runAndExit(process.argv.slice(1)));
