#!/usr/bin/env node
// Entry point of the netward-policy program (bundled to dist/netward-policy.js).
import { runCli } from './main.ts';

process.exitCode = runCli(process.argv.slice(2));
