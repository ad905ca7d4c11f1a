/**
 * claims — the exactly-once ledger. Every "only one caller may win" decision in regstack (redeem a token,
 * spend an MFA guess slot, verify a pending sign-up, lease an outbox message) is made by inserting a row
 * whose primary key names the decision, e.g. `otk:<token id>` or `mfa:<code id>:3`. The primary-key
 * constraint is the one guarantee that holds on every backend — SQLite, PostgreSQL, MongoDB, and FerretDB
 * 1.x, whose conditional updates are *not* atomic under concurrency (see docs/storage.md) —
 * so one insert decides, whoever races. `scope` groups the claims of one subject for counting and purging.
 */
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';

export const ClaimSchema = defineEntity({
  name: 'Claim',
  tableName: 'claims',
  properties: {
    id: p.string().primary().length(160),
    scope: p.string().length(120).index(),
    createdAt: p.datetime().length(3),
    expiresAt: p.datetime().length(3).index(),
  },
});

export type Claim = InferEntity<typeof ClaimSchema>;
