#!/usr/bin/env node
// Entry of dist/netward-forcecommand.js: `ForceCommand /usr/bin/node <this file> --config <file>`.
import { runAndExit } from './main.ts';

runAndExit(process.argv.slice(2));
