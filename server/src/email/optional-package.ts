/**
 * The mail integrations (nodemailer, the SES SDK) are optional peer dependencies, loaded by dynamic import so a
 * host that only prints mail to the console installs neither. A missing one fails at startup with the fix.
 */

export async function importOptionalPackage<T>(pkg: string, backend: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    const message = err instanceof Error ? err.message : '';
    // Only "this very package is absent" gets the friendly message; a package that is there and breaks does not.
    if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && message.includes(`'${pkg}'`)) {
      throw new Error(
        `regstack: email.backend = "${backend}" needs the package ${pkg}. Install it next to @regstack/server ` +
          `(pnpm add ${pkg}).`,
        { cause: err },
      );
    }
    throw err;
  }
}
