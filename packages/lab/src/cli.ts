// netward-lab: the native lab's command line (see src/cli/main.ts). Bundled to dist/cli.js.
import './cli/main.ts';
