#!/usr/bin/env node
/**
 * The `regstack` executable. It checks the Node version before loading anything else — the commands are imported
 * only afterwards, dynamically, so an older Node prints one sentence naming Node ≥ 22.17 instead of a loader error
 * or a native module's segfault (node-version.ts). The commands live in program.ts.
 */
import { nodeVersionProblem } from '../node-version.ts';

const problem = nodeVersionProblem();
if (problem) {
  console.error(problem);
  process.exit(1);
}
await import('./program.ts');
