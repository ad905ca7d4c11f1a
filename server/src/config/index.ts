/**
 * regstack's configuration: the schema (names, defaults, limits), loading from files and the environment, the one
 * error type, and the development-secret bootstrap. See `config.schema.ts` for every option.
 */

export type { RateLimitRule, RegstackConfig, RegstackConfigInput } from './config.schema.ts';
export { configSchema } from './config.schema.ts';
export type { ConfigIssue } from './config-error.ts';
export { ConfigError, formatConfigIssues } from './config-error.ts';
export type { LoadConfigOptions } from './load-config.ts';
export { loadConfig, parseConfig } from './load-config.ts';
export type { EnsureDevSecretOptions, EnsureDevSecretResult } from './secrets.ts';
export { ensureDevSecret } from './secrets.ts';
