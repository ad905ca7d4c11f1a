/**
 * Issue 16 item 2: a `database_url` that names a dead server (or an SQLite file that cannot be opened) fails the
 * start within the connect timeout, with a message that names `database_url`, the backend and the URL without its
 * password — never a 30-second hang, and never an error from whatever first touched the database later.
 * The servers are real: a loopback port nothing listens on (bound, then closed).
 */
import { createServer } from 'node:net';
import { join } from 'node:path';
import { DatabaseUnreachableError } from '@regstack/server';
import { openStorage } from '@regstack/server/internal';
import { describe, expect, it } from 'vitest';

/** A loopback port that refuses connections. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('a database_url that cannot be reached', () => {
  it.each([
    ['PostgreSQL', (port: number) => `postgresql://app:s3cret-pw@127.0.0.1:${port}/accounts`],
    ['MongoDB', (port: number) => `mongodb://app:s3cret-pw@127.0.0.1:${port}/accounts`],
  ])(
    '%s: fails at open, naming database_url and the backend, without the password',
    async (backend, url) => {
      const port = await closedPort();
      const error = await openStorage(url(port), { connectTimeoutMs: 1000 }).then(
        () => null,
        (err: unknown) => err,
      );
      expect(error).toBeInstanceOf(DatabaseUnreachableError);
      const message = (error as Error).message;
      expect(message).toMatch(/^database_url: /);
      expect(message).toContain(`cannot reach the ${backend} database at`);
      expect(message).toContain(`app:***@127.0.0.1:${port}/accounts`);
      expect(message).toContain('ECONNREFUSED');
      expect(message).not.toContain('s3cret-pw');
      expect((error as { code?: string }).code).toBe('DATABASE_UNREACHABLE');
    },
    15_000,
  );

  it('SQLite: a file in a missing directory fails at open with a hint', async () => {
    const url = `sqlite:${join('/nonexistent-regstack-dir', 'app.db')}`;
    const error = await openStorage(url).then(
      () => null,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(DatabaseUnreachableError);
    expect((error as Error).message).toContain(
      'database_url: cannot open the SQLite database sqlite:/nonexistent-regstack-dir/app.db',
    );
    expect((error as Error).message).toContain('directory exists');
  });
});
