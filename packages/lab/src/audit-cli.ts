// netward-audit: merges the lab's logs into the audit chain of a tool call (see src/cli/audit.ts).
import { runTrace } from './cli/audit.ts';

process.exitCode = runTrace(process.argv.slice(2));
