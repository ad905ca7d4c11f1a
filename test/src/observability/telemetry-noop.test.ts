/**
 * Issue 21: without an OpenTelemetry SDK — nothing registered in this process (vitest runs each file in a process of
 * its own) — regstack's instrumentation is the API's no-op and changes nothing: calls through the router and over
 * HTTP answer as before, the gauges' callbacks are never run, and the request id still reaches the response and the
 * log lines (without trace ids, there being no trace).
 */
import { metrics, trace } from '@opentelemetry/api';
import { createJsonLogger, createRegstack, parseConfig, type Regstack } from '@regstack/server';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { createMailbox, TEST_SECRET } from '../harness/regstack.ts';
import { data, rawClient } from '../http/http-client.ts';

const PASSWORD = 'correct horse battery staple';

describeEachBackend('OpenTelemetry not registered (issue 21)', (ctx) => {
  let regstack: Regstack;
  let server: { url: string; close(): Promise<void> };
  const mailbox = createMailbox();
  const lines: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    regstack = await createRegstack({
      config: parseConfig({ jwtSecret: TEST_SECRET, databaseUrl: ctx.url, baseUrl: 'https://accounts.example.test' }),
      email: mailbox,
      logger: createJsonLogger({ write: (line) => lines.push(JSON.parse(line)) }),
    });
    await regstack.installSchema();
    server = await regstack.listen({ port: 0 });
  });
  afterAll(async () => {
    await server?.close();
    await regstack?.close();
  });

  it('nothing is registered, and calls through the router and over HTTP work as without telemetry', async () => {
    // The API's defaults: a tracer whose spans record nothing, a meter whose instruments drop everything.
    expect(trace.getTracer('probe').startSpan('probe').isRecording()).toBe(false);
    expect(metrics.getMeterProvider().constructor.name).toMatch(/Noop/);

    const email = `otel-noop-${ctx.backend}@example.com`;
    const caller = regstack.createCaller();
    await caller.register({ email, password: PASSWORD });
    await regstack.drainOutbox();
    await caller.verifyEmail({ token: mailbox.tokenFor(email, 'verify')! });
    const login = await caller.login({ email, password: PASSWORD });
    expect(login.status).toBe('authenticated');
    await expect(caller.login({ email, password: 'wrong wrong wrong' })).rejects.toMatchObject({
      cause: { code: 'INVALID_CREDENTIALS' },
    });

    const api = rawClient(server.url);
    const overHttp = await api.mutation('auth.login', { email, password: PASSWORD });
    expect(overHttp.status).toBe(200);
    const me = await api.query('auth.account.me', undefined, { authorization: `Bearer ${data(overHttp).accessToken}` });
    expect(me.status).toBe(200);
    expect(data(me).email).toBe(email);
    expect(me.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('log lines of a request carry its request id, and no trace id without a tracer', async () => {
    lines.length = 0;
    const refused = await rawClient(server.url).query('auth.account.me', undefined, {
      authorization: 'Bearer not-a-token',
      'x-request-id': 'noop-probe-1',
    });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('x-request-id')).toBe('noop-probe-1');
    await regstack.settle();
    const logged = lines.find((l) => l.msg === 'access token refused');
    expect(logged?.requestId).toBe('noop-probe-1');
    expect(logged).not.toHaveProperty('traceId');
  });
});
