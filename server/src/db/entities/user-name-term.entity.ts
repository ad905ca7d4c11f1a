/**
 * user_name_terms — one row per distinct word of a user's full name, folded (db/name-terms.ts), so the admin search
 * finds a name by the start of any of its words as a range of the `(term, user_id)` index on every backend
 * (issue 17), never by reading every user. Written by the user repository in the same transaction as the name it
 * mirrors (creation, rename, deletion). On PostgreSQL `term` is collated "C" (the migration): a prefix is a range of
 * the index only in byte order, whatever the database's default collation; SQLite's BINARY and MongoDB already
 * compare that way.
 */
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';

export const UserNameTermSchema = defineEntity({
  name: 'UserNameTerm',
  tableName: 'user_name_terms',
  // A search word is a range of (term, user_id); a user's own words, read on a rename or probed by the list when a
  // search matches many users, are a range of (user_id, term).
  uniques: [{ properties: ['term', 'userId'] }],
  indexes: [{ properties: ['userId', 'term'] }],
  properties: {
    id: p.string().primary().length(36),
    term: p.string().length(64).ignoreSchemaChanges('collation'),
    userId: p.string().length(36),
  },
});

export type UserNameTerm = InferEntity<typeof UserNameTermSchema>;
