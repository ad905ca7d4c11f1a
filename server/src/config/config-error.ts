/**
 * The one error an invalid configuration raises. It lists every problem at once — each with the key as the user
 * writes it in `regstack.toml` (snake_case, dotted for sections: `email.smtp_port`) and, when known, where the bad
 * value came from — so a deployment is fixed in one pass. Recognise it by `name`/`code`, not only `instanceof`
 * (two copies of the package break `instanceof`). Messages never contain secret values.
 */

/** One configuration problem. */
export interface ConfigIssue {
  /** Snake-case path as written in `regstack.toml` (`jwt_secret`, `email.smtp_port`), or a file name. */
  readonly key: string;
  /** What is wrong and, where useful, how to fix it. */
  readonly message: string;
  /** Where the offending value came from: `REGSTACK_JWT_TTL_SECONDS`, `regstack.toml`, `options.jwtTtlSeconds`, … */
  readonly source?: string | undefined;
}

/** Renders issues one per line: `  - email.smtp_port (from REGSTACK_EMAIL__SMTP_PORT): expected an integer, …`. */
export function formatConfigIssues(issues: readonly ConfigIssue[]): string {
  return issues
    .map((issue) => `  - ${issue.key}${issue.source ? ` (from ${issue.source})` : ''}: ${issue.message}`)
    .join('\n');
}

/** Thrown by `loadConfig`, `parseConfig` and `ensureDevSecret` when the configuration cannot be used. */
export class ConfigError extends Error {
  override readonly name = 'RegstackConfigError';
  readonly code = 'CONFIG_INVALID';
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], options?: ErrorOptions) {
    const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
    super(`Invalid regstack configuration (${count}):\n${formatConfigIssues(issues)}`, options);
    this.issues = Object.freeze([...issues]);
  }

  /** True for a `ConfigError` from any copy of this package. */
  static is(value: unknown): value is ConfigError {
    return (
      value instanceof Error &&
      value.name === 'RegstackConfigError' &&
      (value as { code?: unknown }).code === 'CONFIG_INVALID' &&
      Array.isArray((value as { issues?: unknown }).issues)
    );
  }
}
