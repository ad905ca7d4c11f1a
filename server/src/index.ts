/**
 * @regstack/server — production-grade user accounts as a tRPC router. This is the package's public
 * surface; everything not exported here is internal. Today: configuration. `createRegstack()` and the
 * router arrive with the core-accounts work.
 */
export {
  ConfigError,
  type ConfigIssue,
  configSchema,
  type EnsureDevSecretOptions,
  type EnsureDevSecretResult,
  ensureDevSecret,
  formatConfigIssues,
  type LoadConfigOptions,
  loadConfig,
  parseConfig,
  type RateLimitRule,
  type RegstackConfig,
  type RegstackConfigInput,
} from './config/index.ts';
