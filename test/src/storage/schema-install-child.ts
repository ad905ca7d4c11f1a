/**
 * Child process for schema-install-race.test.ts: opens regstack's storage on argv[2], says `ready`, waits for `go`
 * on stdin (so that every child installs at the same moment), installs the schema and prints one JSON line:
 * `{ ok: true }` or `{ ok: false, error }`.
 */
import { openStorage } from '@regstack/server/internal';

const url = process.argv[2];
if (!url) throw new Error('usage: schema-install-child.ts <database url>');
const storage = await openStorage(url);
console.log('ready');
await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
process.stdin.pause();
let result: { ok: boolean; error?: string };
try {
  await storage.installSchema();
  result = { ok: true };
} catch (err) {
  result = { ok: false, error: String((err as Error).message ?? err).slice(0, 300) };
}
await storage.close();
console.log(JSON.stringify(result));
