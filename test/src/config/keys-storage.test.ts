/**
 * Issue 20, "every config key honest": `mongodb_database` selects the MongoDB database when the URL names none
 * (issue 20 item 8: a URL without a database name used to fall back to `regstack` silently). MongoDB only: the key
 * means nothing to the SQL backends.
 */
import { expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { outcome } from '../harness/outcomes.ts';
import { createVerifiedUser, startRegstack } from '../harness/regstack.ts';

describeEachBackend('config keys of storage (issue 20)', (ctx) => {
  it.skipIf(ctx.backend !== 'mongodb')('mongodb_database selects the database of a URL that names none', async () => {
    const writer = await startRegstack(ctx.url);
    await createVerifiedUser(writer, 'stored@example.com');
    await writer.regstack.close();

    const url = new URL(ctx.url);
    const database = decodeURIComponent(url.pathname.slice(1));
    expect(database, 'the suite URL names its database').not.toBe('');
    // Were the key ignored, the reader would open `regstack`, which is not the suite's database.
    expect(database).not.toBe('regstack');
    url.pathname = '/';
    const reader = await startRegstack(url.toString(), { mongodbDatabase: database });
    try {
      // The account exists only in the suite's database; the default name (`regstack`) would not find it.
      const login = reader.regstack
        .createCaller()
        .login({ email: 'stored@example.com', password: 'correct horse battery staple' });
      expect(await outcome(login)).toBe('ok');
    } finally {
      await reader.regstack.close();
    }
  });
});
