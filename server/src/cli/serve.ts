/**
 * `regstack serve`: a standalone server. Rules of its start:
 *
 * - Where it listens: `--port` / `--host`, else the `PORT` / `HOST` environment variables (what Node hosts and
 *   container platforms set), else 8000 on 127.0.0.1. An invalid `PORT` is a configuration error naming it.
 * - Nothing is written to disk until the port is bound and the database has answered: the configuration is read
 *   (a development JWT secret is generated in memory), the port bound (requests get 503 "starting" meanwhile), the
 *   database opened and its schema installed, and only then is the generated secret saved to
 *   `regstack.secrets.env` and the outbox worker and background purge started. A start that fails — a port in use,
 *   a dead database — leaves no file behind and prints one error, not a worker's retries.
 * - `--dev`: the link pages on, mail bodies printed, and `base_url` (unless set) follows the address the server
 *   really listens at, so printed links work with `PORT=0` or another port.
 * - `NODE_ENV=production` (and no `--dev`): a JWT secret and `base_url` must be configured; nothing is generated.
 */
import { ConfigError, configSchema, type RegstackConfig, type RegstackConfigInput } from '../config/index.ts';
import { loadConfigWithSources, type RequiredKey } from '../config/load-config.ts';
import { planDevSecret, saveDevSecret } from '../config/secrets.ts';
import { createRegstack, type Regstack } from '../create-regstack.ts';
import { methodRefusal, type RegstackFetchHandler } from '../http/fetch-handler.ts';
import { createNodeServer, listenOn, urlHost } from '../http/node-server.ts';

export const DEFAULT_PORT = 8000;
export const DEFAULT_HOST = '127.0.0.1';

export interface ServeOptions {
  /** `--port`, when given. */
  port?: number;
  /** `--host`, when given. */
  host?: string;
  config?: string;
  dev?: boolean;
}

/** Parses a port number 0–65535 (0: the system picks a free one); undefined when `text` is not one. */
export function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text.trim())) return undefined;
  const n = Number(text.trim());
  return n <= 65_535 ? n : undefined;
}

/** Where to listen: the flag, else the environment variable, else the default. */
export function listenAddress(
  opts: Pick<ServeOptions, 'port' | 'host'>,
  env: Readonly<Record<string, string | undefined>>,
): { port: number; host: string } {
  let port = opts.port;
  const envPort = env.PORT?.trim();
  if (port === undefined && envPort) {
    port = parsePort(envPort);
    if (port === undefined) {
      throw new ConfigError([
        {
          key: 'PORT',
          source: 'environment',
          message: `must be a port number 0–65535 (got "${envPort.slice(0, 20)}"); unset it to use ${DEFAULT_PORT}`,
        },
      ]);
    }
  }
  const host = opts.host ?? (env.HOST?.trim() || undefined);
  return { port: port ?? DEFAULT_PORT, host: host ?? DEFAULT_HOST };
}

/** Node's reasons for a failed bind, in words that say what to change. */
function bindError(err: unknown, host: string, port: number): Error {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const reason =
    code === 'EADDRINUSE'
      ? 'the port is already in use: stop what listens there, or choose another with PORT or --port'
      : code === 'EACCES'
        ? 'permission denied: ports below 1024 need privileges; choose another with PORT or --port'
        : code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN'
          ? 'this machine has no such address: check HOST or --host'
          : (err as Error | null)?.message || 'unknown error';
  return new Error(`cannot listen on ${urlHost(host)}:${port}: ${reason}`);
}

/** The base URL of a server listening at `host:port`, as a browser on this machine reaches it. */
function listeningBaseUrl(host: string, port: number): string {
  // A wildcard address is not a destination; the machine itself is.
  const wildcard = host === '0.0.0.0' || host === '::' || host === '';
  return `http://${wildcard ? 'localhost' : urlHost(host)}:${port}`;
}

/** What a request gets between the bind and the end of the start (database, schema). */
function starting(): Response {
  return new Response(JSON.stringify({ status: 'starting' }), {
    status: 503,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', 'retry-after': '1' },
  });
}

const BASE_URL_REQUIRED: RequiredKey = {
  path: 'baseUrl',
  message:
    'is required when NODE_ENV=production: the public URL users reach this server at, which every link in mail is ' +
    'built from (R28), e.g. REGSTACK_BASE_URL=https://accounts.example.com',
};

export async function serve(opts: ServeOptions): Promise<void> {
  const production = process.env.NODE_ENV === 'production';
  if (opts.dev && production) throw new Error('--dev cannot be used with NODE_ENV=production');
  const address = listenAddress(opts, process.env);

  // 1. Configuration, read only. Development generates a JWT secret in memory when none is configured; production
  //    generates nothing: a missing secret and a missing base_url are reported together by loadConfig (SPEC §9).
  const plan = production ? undefined : await planDevSecret({ configFile: opts.config });
  const overrides: RegstackConfigInput = {
    // --dev: the link pages on, and email bodies (with their links) and SMS bodies (with their codes) printed to the
    // console transports, so a newcomer can click through and complete an SMS step.
    ...(opts.dev && { enableUiRouter: true, email: { logBodies: true }, sms: { logBodies: true } }),
    ...(plan?.secret !== undefined && { jwtSecret: plan.secret }),
  };
  const loaded = await loadConfigWithSources({
    configFile: opts.config,
    overrides,
    required: production ? [BASE_URL_REQUIRED] : [],
  });
  if (production && loaded.config.email.backend === 'console') {
    console.error(
      'regstack: warning: email.backend is "console" in production: mail is printed (envelope only), not delivered; set email.backend to "smtp" or "ses"',
    );
  }
  if (production && loaded.config.enableSms2fa && loaded.config.sms.backend === 'console') {
    console.error(
      'regstack: warning: sms.backend is "console" in production: SMS codes are not delivered; set sms.backend to "twilio" or "sns"',
    );
  }

  // 2. The port. Requests are answered 503 "starting" until the database is ready.
  let handler: RegstackFetchHandler | undefined;
  let refuse: ((pathname: string, method: string) => Response) | undefined;
  const server = createNodeServer((request, info) => (handler ? handler(request, info) : Promise.resolve(starting())), {
    refuseMethod: (pathname, method) => (refuse ? refuse(pathname, method) : starting()),
  });
  const bound = await listenOn(server, address.port, address.host).catch((err: unknown) => {
    throw bindError(err, address.host, address.port);
  });

  let regstack: Regstack | undefined;
  try {
    let config: RegstackConfig = loaded.config;
    if (opts.dev && !loaded.sources.has('baseUrl')) {
      config = Object.freeze({ ...config, baseUrl: listeningBaseUrl(address.host, bound.port) });
    }

    // 3. The database: opened, and its schema installed, before anything is written or any worker runs.
    regstack = await createRegstack({ config, startWorkers: false, development: opts.dev === true });
    await regstack.installSchema();

    // 4. Now the generated secret is kept. Another start may have written one first: then that one is used.
    if (plan?.secret !== undefined) {
      const saved = await saveDevSecret(plan);
      if (saved.secret !== plan.secret && saved.secret !== undefined) {
        await regstack.close();
        // The other start's secret is held to the same rule as any (R32): the schema's field checks it.
        config = Object.freeze({ ...config, jwtSecret: configSchema.shape.jwtSecret.parse(saved.secret) });
        regstack = await createRegstack({ config, startWorkers: false, development: opts.dev === true });
      }
      if (saved.generated) {
        console.error(`regstack: generated a development JWT secret in ${plan.secretsFile} (mode 0600)`);
      }
    }

    // 5. Serve.
    const ready = regstack;
    const served = config;
    refuse = (pathname, method) => methodRefusal(served, pathname, method);
    handler = ready.fetchHandler;
    ready.startWorkers();
    handleSignals(server, ready, config.shutdownTimeoutSeconds);
    console.error(
      `regstack: serving on ${bound.url} (tRPC ${bound.url}${config.apiPrefix}, database ${ready.storage.description}` +
        `${opts.dev ? `, links to ${config.baseUrl}` : ''})`,
    );
  } catch (err) {
    server.close();
    await regstack?.close().catch(() => undefined);
    throw err;
  }
}

/**
 * Graceful stop (R72): answer what was received, then close regstack (outbox worker, database) and exit 0. A second
 * signal during the drain drops the connections still open at once.
 */
function handleSignals(server: ReturnType<typeof createNodeServer>, regstack: Regstack, timeoutSeconds: number) {
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) {
      console.error(`regstack: ${signal} again, closing the remaining connections now`);
      server.closeAllConnections();
      return;
    }
    stopping = true;
    console.error(`regstack: ${signal} received, draining requests (at most ${timeoutSeconds} s) before exit`);
    try {
      await server.shutdown(timeoutSeconds * 1000);
      await regstack.close();
    } catch (err) {
      console.error(`regstack: shutdown failed: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    }
    console.error('regstack: stopped');
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
