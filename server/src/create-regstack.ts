/**
 * `createRegstack()` — one regstack instance: its storage, services, transports and HTTP handler. Several
 * instances can live in one process; nothing is module-level state. The router itself is static
 * (`regstackRouter`); this object supplies what the router's context carries.
 */
import type { RegstackConfig } from './config/index.ts';
import type { ConfigWithoutSecret } from './config/load-config.ts';
import { openStorage, type Storage } from './db/storage.ts';
import { createMailer, type Mailer } from './email/mailer.ts';
import { createTemplates } from './email/templates.ts';
import type { EmailTransport } from './email/transport.ts';
import { createTransportFromConfig, fromHeaderOf } from './email/transport-from-config.ts';
import { createEventBus, type RegstackEventHandler, type RegstackEventName, type RequestMeta } from './events.ts';
import { createClientIpResolver } from './http/client-ip.ts';
import {
  createFetchHandler,
  type FetchHandlerInfo,
  methodRefusal,
  type RegstackFetchHandler,
} from './http/fetch-handler.ts';
import { createNodeServer, listenOn } from './http/node-server.ts';
import { createJsonLogger, type Logger } from './logger.ts';
import { regstackRouter } from './routers/auth.ts';
import { startArgon2Process } from './security/argon2-process.ts';
import { type Clock, systemClock } from './security/clock.ts';
import { createOtpHasher } from './security/one-time-tokens.ts';
import { createPasswordPolicyChecker } from './security/password-blocklist.ts';
import { createPasswordHasher, type PasswordHasher } from './security/password-hasher.ts';
import { createSealer } from './security/sealing.ts';
import { createTokenService } from './security/tokens/index.ts';
import { createAccountService } from './services/account.service.ts';
import { type BootstrapAdminInput, createAdminService } from './services/admin.service.ts';
import { createAuthService } from './services/auth.service.ts';
import { openRepos, type ServiceDeps } from './services/deps.ts';
import { createLockoutService, createRateLimiter } from './services/lockout.service.ts';
import { createMfaService } from './services/mfa.service.ts';
import { createMfaLoginService } from './services/mfa-login.service.ts';
import { createOAuthService } from './services/oauth.service.ts';
import { createPasswordResetService } from './services/password-reset.service.ts';
import { createAdminGuard } from './services/policies/last-admin.ts';
import { createPurgeService, type PurgeOptions } from './services/purge.service.ts';
import { createRegistrationService } from './services/registration.service.ts';
import { bearerToken, createSessionService } from './services/session.service.ts';
import { createSmsFactorService } from './services/sms-factor.service.ts';
import { createSmsCodeSender } from './sms/code-sender.ts';
import type { SmsTransport } from './sms/transport.ts';
import { createSmsTransportFromConfig } from './sms/transport-from-config.ts';
import { createTelemetry } from './telemetry/instruments.ts';
import { withRequestFields } from './telemetry/request-scope.ts';
import type { RegstackContext, RegstackRuntime } from './trpc/context.ts';
import { t } from './trpc/init.ts';
import { adminProcedure, authedProcedure, ownerProcedure, publicProcedure } from './trpc/procedures.ts';

export interface CreateRegstackOptions {
  /** Validated configuration, usually from `loadConfig()`. */
  config: RegstackConfig;
  /** Where mail goes. @default the transport named by `config.email.backend` (console, smtp or ses) */
  email?: EmailTransport;
  /**
   * Where SMS goes: any object with `send({ to, body })` (it replaces `sms.backend`; the country allowlist and the
   * limits still apply). @default the transport named by `config.sms.backend` (console, twilio, sns or none)
   */
  sms?: SmsTransport;
  /** @default JSON lines on stderr */
  logger?: Logger;
  /** @default the system clock */
  clock?: Clock;
  /**
   * Replace the argon2id hasher — for test suites only (e.g. cheaper parameters). Hashing tests and HTTP
   * suites use the real one.
   * @default argon2id with the configured parameters
   */
  hasher?: PasswordHasher;
  /** Start the outbox worker and the background purge at once (otherwise call `startWorkers()`). @default true */
  startWorkers?: boolean;
  /**
   * Development mode, as `regstack serve --dev` sets it: the standalone handler answers `/` with an index of
   * its endpoints and pages. Leave it off in production, where `/` is a 404.
   * @default false
   */
  development?: boolean;
}

/**
 * What `createContext` accepts: the options either tRPC adapter hands its own `createContext` — the fetch adapter's
 * `{ req: Request, resHeaders }` or the Node adapter's `{ req: IncomingMessage, res }` — so a host passes them
 * through as they are, destructured or not.
 */
export interface CreateContextOptions {
  req:
    | Request
    | { headers: Headers | Record<string, string | string[] | undefined>; socket?: { remoteAddress?: string } };
  /** The fetch adapter's response headers. */
  resHeaders?: Headers;
  /**
   * The Node adapter's `ServerResponse`. Accepted so `{ req, res }` passes through; regstack reads nothing from it
   * (its response headers come from `regstackResponseMeta`).
   */
  res?: object;
  /** The TCP peer, if `req` does not carry it. */
  remoteAddress?: string | null;
}

function toHeaders(h: Headers | Record<string, string | string[] | undefined>): Headers {
  if (h instanceof Headers) return h;
  const out = new Headers();
  for (const [k, v] of Object.entries(h)) {
    if (Array.isArray(v)) for (const item of v) out.append(k, item);
    else if (v !== undefined) out.set(k, v);
  }
  return out;
}

/**
 * The database `config` names, opened with every storage setting it holds — what `createRegstack` opens, and what
 * the CLI's `migrate` and `doctor` open without building the rest of an instance.
 */
export function openConfiguredStorage(config: ConfigWithoutSecret, logger?: Logger): Promise<Storage> {
  return openStorage(config.databaseUrl, {
    mongodbDatabase: config.mongodbDatabase,
    sqliteSynchronous: config.sqliteSynchronous,
    postgresPreparedStatements: config.postgresPreparedStatements,
    poolSize: config.databasePoolSize,
    connectTimeoutMs: config.databaseConnectTimeoutMs,
    queryTimeoutMs: config.databaseQueryTimeoutMs,
    sqliteBusyTimeoutMs: config.sqliteBusyTimeoutMs,
    ...(logger && { logger }),
  });
}

/**
 * The purge alone, on its own connection (`regstack purge`): it needs the database and the configured windows, not
 * a JWT secret, a mail transport or a hashing process. The same service and lock as `regstack.purge()`.
 */
export async function openPurger(config: ConfigWithoutSecret) {
  const storage = await openConfiguredStorage(config);
  const purge = createPurgeService({ config, storage, clock: systemClock });
  return {
    storage,
    purge: (opts?: PurgeOptions) => purge.run(opts),
    purgePreview: (opts?: Pick<PurgeOptions, 'olderThanMs'>) => purge.preview(opts),
    close: () => storage.close(),
  };
}

export async function createRegstack(options: CreateRegstackOptions) {
  const { config } = options;
  const clock = options.clock ?? systemClock;
  // Every line written while a request runs carries its request id (telemetry/request-scope.ts), the host's own
  // logger included.
  const logger = withRequestFields(options.logger ?? createJsonLogger());
  // Taken now, from the MeterProvider the host registered before creating regstack (docs/observability.md).
  const telemetry = createTelemetry();
  // What can fail on bad configuration (a missing optional package, a broken templates folder) is built
  // before the database is opened, so a failed start leaves no connection behind.
  const transport = options.email ?? (await createTransportFromConfig(config, logger));
  const smsTransport = options.sms ?? (await createSmsTransportFromConfig(config, logger));
  const templates = createTemplates({
    appName: config.appName,
    baseUrl: config.baseUrl,
    uiPrefix: config.uiPrefix,
    links: {
      prefix: config.emailLinkPrefix,
      pages: config.enableUiRouter,
      verifyTemplate: config.verifyUrlTemplate,
      resetTemplate: config.passwordResetUrlTemplate,
      emailChangeTemplate: config.emailChangeUrlTemplate,
    },
    templatesDir: config.email.templatesDir,
  });
  const storage: Storage = await openConfiguredStorage(config, logger);
  const events = createEventBus(logger, storage.afterCommit);
  const ipResolver = createClientIpResolver(config.trustedProxies);
  // The SMS limits live in the database (login_attempts), so they hold across instances (R21).
  const sms = createSmsCodeSender({
    transport: smsTransport,
    logger,
    appName: config.appName,
    clock,
    policy: {
      allowedCountryCodes: config.sms.allowedCountryCodes,
      recipientLimits: config.sms.recipientRateLimit,
      ipLimits: config.sms.ipRateLimit,
      userLimits: config.sms.userRateLimit,
      globalLimits: config.sms.globalRateLimit,
    },
    counter: () => openRepos({ storage }).loginAttempts,
    ipKey: (ip) => ipResolver.limitKey(ip),
    refuseAll: !options.sms && config.sms.backend === 'none',
  });
  const mailer: Mailer = createMailer({
    storage,
    transport,
    sealer: createSealer(config.jwtSecret, config.jwtPreviousSecrets),
    clock,
    logger,
    events,
    from: fromHeaderOf(config),
    recipientLimits: config.email.recipientRateLimit,
    pollIntervalMs: config.email.outboxPollIntervalMs,
    leaseMs: config.email.outboxLeaseSeconds * 1000,
    maxAttempts: config.email.outboxMaxAttempts,
    giveUpAfterMs: config.email.outboxGiveUpAfterSeconds * 1000,
  });
  const hasher =
    options.hasher ??
    createPasswordHasher({
      memoryKib: config.argon2MemoryKib,
      iterations: config.argon2Iterations,
      parallelism: config.argon2Parallelism,
      ...(config.hashConcurrency !== undefined && { concurrency: config.hashConcurrency }),
      queueLimit: config.hashQueueLimit,
      priority: config.hashThreadPriority,
    });
  // Hashing runs in a process of its own at a lower priority (argon2-process.ts), started now so the first
  // login does not pay for it.
  if (!options.hasher) await startArgon2Process(config.hashThreadPriority, hasher.concurrency);
  const tokens = createTokenService({
    secret: config.jwtSecret,
    previousSecrets: config.jwtPreviousSecrets,
    algorithm: config.jwtAlgorithm,
    ...(config.jwtPrivateKey && { privateKey: config.jwtPrivateKey }),
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
    ttlSeconds: config.jwtTtlSeconds,
    clockToleranceSeconds: config.jwtClockToleranceSeconds,
    clock,
  });

  const deps: ServiceDeps = {
    config,
    storage,
    clock,
    hasher,
    passwordPolicy: createPasswordPolicyChecker({
      minLength: config.passwordMinLength,
      maxLength: config.passwordMaxLength,
      appName: config.appName,
    }),
    tokens,
    mailer,
    events,
    logger,
    templates,
    sms,
    otpHasher: createOtpHasher(config.jwtSecret),
    totpSealer: createSealer(config.jwtSecret, config.jwtPreviousSecrets, 'totpSeal'),
    telemetry,
  };
  const sessions = createSessionService(deps);
  const parts = {
    lockout: createLockoutService(deps),
    rateLimiter: createRateLimiter(deps),
    sessions,
    adminGuard: createAdminGuard(deps),
  };
  const registration = createRegistrationService(deps, parts);
  const passwordReset = createPasswordResetService(deps, parts);
  const admin = createAdminService(deps, { ...parts, registration, passwordReset });
  const mfaLogin = createMfaLoginService(deps, parts);
  const runtime: RegstackRuntime = {
    config,
    logger,
    telemetry,
    services: {
      registration,
      auth: createAuthService(deps, { ...parts, mfaLogin }),
      sessions,
      account: createAccountService(deps, parts),
      passwordReset,
      admin,
      mfa: createMfaService(deps, parts),
      smsFactor: createSmsFactorService(deps, parts),
      mfaLogin,
      oauth: createOAuthService(deps, { ...parts, mfaLogin }),
    },
  };
  const fetchHandler: RegstackFetchHandler = createFetchHandler({
    config,
    runtime,
    storage,
    logger,
    ipResolver,
    development: options.development === true,
  });
  const callerFactory = t.createCallerFactory(regstackRouter);
  const purge = createPurgeService(deps);
  // The background purge (purge_interval_seconds): the first pass after a random part of one interval, so
  // instances started together do not all try at once; a pass that fails is logged and tried next time.
  let purgeTimer: NodeJS.Timeout | undefined;
  let purgePass: Promise<void> | undefined; // a pass in flight, which close() waits for
  const schedulePurge = (delayMs: number) => {
    purgeTimer = setTimeout(() => {
      purgePass = purge
        .run()
        .then((result) => {
          if (result.status === 'purged') logger.info('purged expired rows', { ...result.counts });
        })
        .catch((err: unknown) => logger.warn('background purge failed; it will run again', { err }))
        .finally(() => {
          purgePass = undefined;
          if (!closed) schedulePurge(config.purgeIntervalSeconds * 1000);
        });
    }, delayMs);
    purgeTimer.unref();
  };
  // The gauges read the hasher's own counters and two index reads of the outbox, only when the host's reader
  // collects; unregistered on close, so a closed instance is never read.
  const unobserve = telemetry.observe({ hashing: () => hasher.stats, outbox: () => mailer.outboxStats() });
  let closed = false;
  let workersStarted = false;
  const startWorkers = () => {
    if (workersStarted || closed) return;
    workersStarted = true;
    mailer.start();
    if (config.purgeIntervalSeconds > 0) schedulePurge(Math.random() * config.purgeIntervalSeconds * 1000);
  };
  if (options.startWorkers !== false) startWorkers();

  function contextFor(headers: Headers, remoteAddress: string | null, resHeaders?: Headers): RegstackContext {
    const ip = ipResolver.resolve(remoteAddress, headers.get('x-forwarded-for'));
    const request: RequestMeta = {
      ip,
      userAgent: headers.get('user-agent'),
      limitKey: ip ? ipResolver.limitKey(ip) : null,
    };
    return { regstack: { runtime, request, headers, resHeaders } };
  }

  return {
    config,
    /** The `auth` router (the same value as the `regstackRouter` export). */
    router: regstackRouter,
    storage,
    procedures: { public: publicProcedure, authed: authedProcedure, owner: ownerProcedure, admin: adminProcedure },

    /** Builds regstack's part of a request context; spread it into the host's own. */
    async createContext(opts: CreateContextOptions): Promise<RegstackContext> {
      const headers = toHeaders(opts.req.headers);
      const remote = opts.remoteAddress ?? ('socket' in opts.req ? (opts.req.socket?.remoteAddress ?? null) : null);
      return contextFor(headers, remote, opts.resHeaders);
    },

    /**
     * A server-side caller. Pass the user's access token (or any headers) to act as them; no IP is known, so
     * per-client limits do not apply — lockout and every other rule does.
     */
    createCaller(opts: { accessToken?: string; headers?: Headers | Record<string, string>; ip?: string } = {}) {
      const headers = toHeaders(opts.headers ?? {});
      if (opts.accessToken) headers.set('authorization', `Bearer ${opts.accessToken}`);
      return callerFactory(contextFor(headers, opts.ip ?? null));
    },

    /**
     * Verifies the bearer token in `headers` exactly as regstack's own procedures do. `remoteAddress` (the peer of
     * the host's request) is what a refused token is recorded with (R73), resolved through trusted proxies.
     */
    async authenticate(
      headers: Headers | Record<string, string | string[] | undefined>,
      opts: { remoteAddress?: string | null } = {},
    ) {
      const h = toHeaders(headers);
      const { request } = contextFor(h, opts.remoteAddress ?? null).regstack;
      const header = h.get('authorization');
      return sessions.authenticate(bearerToken(header), request, { presented: header !== null });
    },

    fetchHandler,
    /**
     * The SMS code sender the two-factor procedures use: `sendCode` applies the country allowlist and the limits,
     * then sends out of band (docs/sms.md).
     */
    sms,
    handle: (request: Request, info?: FetchHandlerInfo) => fetchHandler(request, info),

    /**
     * Starts a standalone HTTP server. Its `close()` drains (R72): it stops accepting, answers every request
     * already received (with `Connection: close`), closes idle connections, and destroys what is still open
     * after `shutdown_timeout_seconds` (or `timeoutSeconds`). It does not close regstack itself.
     */
    async listen(opts: { port?: number; host?: string } = {}) {
      const server = createNodeServer(fetchHandler, {
        refuseMethod: (pathname, method) => methodRefusal(config, pathname, method),
      });
      const { port, url } = await listenOn(server, opts.port ?? 8000, opts.host ?? '127.0.0.1');
      return {
        server,
        port,
        url,
        close: (closeOpts: { timeoutSeconds?: number } = {}) =>
          server.shutdown((closeOpts.timeoutSeconds ?? config.shutdownTimeoutSeconds) * 1000),
      };
    },

    on<E extends RegstackEventName>(event: E, handler: RegstackEventHandler<E>) {
      return events.on(event, handler);
    },

    /**
     * Makes `email` an active, verified superuser (docs/admin.md): creates the account, or promotes the existing
     * one. Idempotent; never changes an existing password (a `password` given for an existing account must be its
     * own, else ADMIN_PASSWORD_CONFLICT); a new account's password must pass the registration policy.
     */
    bootstrapAdmin: (input: BootstrapAdminInput) => admin.bootstrapAdmin(input),

    /**
     * Turns the address's pending sign-up into a verified account, as following its link would
     * (PENDING_REGISTRATION_NOT_FOUND when there is none).
     */
    promotePending: (email: string) => admin.promotePendingInProcess(email),

    /** Idempotent: migrations (SQL) or collections and indexes (MongoDB). */
    installSchema: () => storage.installSchema(),

    /**
     * Removes, in batches, the rows that can no longer decide anything (what `regstack purge` and the background
     * purge run). `locked` when another instance is purging at this moment.
     */
    purge: (opts?: PurgeOptions) => purge.run(opts),
    /**
     * What `purge` would remove right now, per kind, removing nothing and taking no lock (`regstack purge --dry-run`).
     */
    purgePreview: (opts?: Pick<PurgeOptions, 'olderThanMs'>) => purge.preview(opts),

    /**
     * Starts the outbox worker and the background purge, for an instance created with `startWorkers: false`
     * (`regstack serve` starts them once the database has answered, so a dead database prints one clear error
     * rather than the worker's). Idempotent; does nothing after `close()`.
     */
    startWorkers,

    /** Sends every due email now (tests, CLI). */
    drainOutbox: () => mailer.drain(),

    /** Waits for every event handler and refused-token audit write started so far to settle (tests, shutdown). */
    settle: async () => {
      await sms.drain();
      await sessions.refusalsIdle();
      await events.idle();
    },

    async close() {
      if (closed) return;
      closed = true;
      unobserve();
      clearTimeout(purgeTimer);
      await purgePass;
      await mailer.stop();
      await sessions.refusalsIdle();
      await events.idle();
      await transport.close?.();
      await sms.drain();
      await smsTransport.close?.();
      await storage.close();
    },
  };
}

export type Regstack = Awaited<ReturnType<typeof createRegstack>>;
