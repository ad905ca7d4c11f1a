/**
 * Outbox leases (email-outbox.repository.ts `claimDue`), on every backend: a try whose earlier holders all let
 * their leases lapse is leased again with the next number — also past the tenth lease, whose id sorts before the
 * ninth's as text, and with every lease taken at the same instant (a frozen or coarse clock) — and a live lease
 * keeps everyone else out.
 */
import { createRepositories } from '@regstack/server/internal';
import { expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';

describeEachBackend('outbox leases', (ctx) => {
  it('leases a message again after ten and more lapsed leases taken at one instant; a live lease excludes', async () => {
    const repos = () => createRepositories(ctx.storage.fork(), ctx.storage.dialect);
    const at = new Date(Date.UTC(2026, 11, 6, 8, 0, 0));
    const message = await repos().emailOutbox.enqueue(
      { kind: 'password_changed', toAddress: 'leases@example.com', payload: 'sealed' },
      at,
    );
    expect(message).not.toBeNull();
    // Twelve holders in a row, each leasing at the same instant and letting the lease lapse.
    for (let holder = 0; holder < 12; holder++) {
      const won = await repos().emailOutbox.claimDue(at, 0, 10);
      expect(won.map((l) => l.message.id)).toEqual([message!.id]);
    }
    const scope = `outbox:${message!.id}:0`;
    expect(await repos().claims.countInScope(scope)).toBe(12);
    // A live lease: nobody else gets the message while it lasts.
    expect((await repos().emailOutbox.claimDue(at, 60_000, 10)).map((l) => l.message.id)).toEqual([message!.id]);
    expect(await repos().emailOutbox.claimDue(new Date(at.getTime() + 1000), 60_000, 10)).toEqual([]);
    expect(await repos().emailOutbox.claimDue(new Date(at.getTime() + 60_001), 60_000, 10)).toHaveLength(1);
  });
});
