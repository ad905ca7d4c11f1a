/** Token spellings for the attack suites. */
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** The three other spellings of a token whose signature ends in 2 unused bits (HS256: 43 characters). */
export function reencodedTwins(token: string): string[] {
  const last = BASE64URL.indexOf(token.at(-1) ?? '');
  if (last < 0 || token.split('.')[2]?.length !== 43) throw new Error('not an HS256 compact JWS');
  return [1, 2, 3].map((bits) => `${token.slice(0, -1)}${BASE64URL[last ^ bits]}`);
}
