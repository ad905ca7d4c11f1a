/**
 * The one answer to a failed password check (R9): a login ends in INVALID_CREDENTIALS with this message
 * whatever went wrong (unknown email, wrong password, disabled or password-less account), and re-authentication
 * and a sign-up link's password check give the same answer.
 */

/** One message for every failed login (R9). */
export const INVALID_CREDENTIALS_MESSAGE = 'Invalid email or password';
