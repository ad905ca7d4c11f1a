/**
 * Child process for postgres-url-options.test.ts (issue 14, item 13): opens regstack's storage on the PostgreSQL
 * URL in argv[2] — a Unix socket with credentials — installs the schema, and prints one JSON line: the user the
 * server sees and its client address (null over a Unix socket). Run as the operating-system user whose name the
 * URL's user has, since the local server authenticates socket connections by peer.
 */
import { openStorage } from '@regstack/server/internal';

const url = process.argv[2];
if (!url) throw new Error('usage: unix-socket-child.ts <database url>');
const storage = await openStorage(url);
try {
  await storage.installSchema();
  const rows = (await storage.orm.em
    .fork()
    .getConnection()
    .execute('select current_user as "user", inet_client_addr() as "addr"')) as { user: string; addr: string | null }[];
  const schema = await storage.schemaState();
  console.log(JSON.stringify({ ...rows[0], current: schema.current }));
} finally {
  await storage.close();
}
