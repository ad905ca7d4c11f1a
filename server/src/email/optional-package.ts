/**
 * The provider integrations (nodemailer, the SES SDK; for SMS the Twilio and SNS SDKs) are optional peer
 * dependencies, loaded by dynamic import so a host that only prints mail and SMS to the console installs none. A
 * missing one fails at startup with the fix.
 */

/**
 * Loads `pkg` through `load`; when the package itself is absent, rejects with a message naming the setting that
 * needs it (`email.backend = "ses"`) and the command that installs it.
 */
export async function importOptionalPackage<T>(
  pkg: string,
  backend: string,
  load: () => Promise<T>,
  section: 'email' | 'sms' = 'email',
): Promise<T> {
  try {
    return await load();
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    const message = err instanceof Error ? err.message : '';
    // Only "this very package is absent" gets the friendly message; a package that is there and breaks does not.
    if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && message.includes(`'${pkg}'`)) {
      throw new Error(
        `regstack: ${section}.backend = "${backend}" needs the package ${pkg}. Install it next to @regstack/server ` +
          `(pnpm add ${pkg}).`,
        { cause: err },
      );
    }
    throw err;
  }
}
