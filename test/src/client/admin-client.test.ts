/**
 * Issue 17 item 4: `@regstack/client` reaches `auth.admin.*` with no extra code, over real HTTP against the
 * standalone server — the admin's token travels, Dates arrive as Dates (superjson), and the refusal a non-admin
 * gets carries its stable code.
 */
import { createRegstackClient, getRegstackErrorCode } from '@regstack/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caught } from '../harness/outcomes.ts';
import { createVerifiedUser } from '../harness/regstack.ts';
import { type ClientStack, PASSWORD, startClientStack } from './support.ts';

describe('client.auth.admin.* against the standalone server', () => {
  let stack: ClientStack;
  let url: string;
  let server: { close(): Promise<void> };

  beforeAll(async () => {
    stack = await startClientStack({ enableAdminRouter: true });
    const listening = await stack.regstack.listen({ port: 0 });
    server = listening;
    url = `${listening.url}/trpc`;
  });
  afterAll(async () => {
    await server?.close();
    await stack?.close();
  });

  it('an admin lists, reads and updates users; a plain user is refused with FORBIDDEN', async () => {
    await stack.regstack.bootstrapAdmin({ email: 'client-admin@example.com', password: PASSWORD });
    await createVerifiedUser(stack, 'client-user@example.com');
    const admin = createRegstackClient({ url });
    await admin.login({ email: 'client-admin@example.com', password: PASSWORD });
    const page = await admin.auth.admin.users.list.query({ search: 'client-user', limit: 10 });
    expect(page.items.map((u) => u.email)).toEqual(['client-user@example.com']);
    expect(page.items[0]?.createdAt).toBeInstanceOf(Date);
    const id = page.items[0]?.id as string;
    const updated = await admin.auth.admin.users.update.mutate({ id, fullName: 'Renamed By Admin' });
    expect(updated.user.fullName).toBe('Renamed By Admin');
    expect((await admin.auth.admin.users.get.query({ id })).user.fullName).toBe('Renamed By Admin');
    expect((await admin.auth.admin.stats.query()).superusers).toBe(1);

    const plain = createRegstackClient({ url });
    await plain.login({ email: 'client-user@example.com', password: PASSWORD });
    expect(getRegstackErrorCode(await caught(plain.auth.admin.stats.query()))).toBe('FORBIDDEN');
  });
});
