/**
 * Users written straight into storage with chosen ids and times (the admin list's tests), as the bench seeds them:
 * the `users` row and the search words of its name (`user_name_terms`, issue 17), which the user repository keeps
 * beside every name it writes — a row inserted without them is a user the name search cannot find.
 */
import type { EntityManager } from '@mikro-orm/core';
import { nameTerms, newId, type User, UserNameTermSchema, UserSchema } from '@regstack/server/internal';

export async function insertUserRow(em: EntityManager, row: Omit<User, 'phoneNumber'> & { phoneNumber?: string }) {
  await em.insert(UserSchema, row);
  for (const term of nameTerms(row.fullName))
    await em.insert(UserNameTermSchema, { id: newId(), term, userId: row.id });
}
