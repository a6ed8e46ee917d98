// Entry of the supervisor process when the lab runs from its sources (tests): `node --import tsx
// supervise-entry.ts <spec.json>`. The built lab runs the same function as `netward-lab supervise`.
import { supervise } from './supervise.ts';

const specFile = process.argv[2];
if (specFile === undefined) {
  process.stderr.write('usage: supervise-entry.ts <spec.json>\n');
  process.exitCode = 2;
} else {
  supervise(specFile).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`supervisor: ${String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
