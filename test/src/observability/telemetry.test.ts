/**
 * Issue 21 ("Observability an operator needs at scale"): with an OpenTelemetry SDK registered globally in this test
 * process — as a host registers one — real calls through the router and over HTTP produce a span per procedure call
 * (`regstack <path>`, RPC conventions, the outcome's code), `rpc.server.call.duration`, logins counted by outcome,
 * lockouts, the outbox depth and age, and the hashing queue; no attribute anywhere holds a password, address or
 * token. Every log line written during an HTTP request carries its request id (and the trace id), and the response
 * echoes it as `X-Request-Id`, taking the client's only when it has a safe shape. The no-SDK path is
 * telemetry-noop.test.ts (a process of its own, with nothing registered).
 */
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  type DataPoint,
  type Histogram,
  MeterProvider,
  type MetricData,
  MetricReader,
} from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { createJsonLogger, createManualClock, createRegstack, parseConfig, type Regstack } from '@regstack/server';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { describeEachBackend } from '../harness/each-backend.ts';
import { createMailbox, TEST_SECRET } from '../harness/regstack.ts';
import { data, error, rawClient } from '../http/http-client.ts';

/** A pull reader: the test collects when it wants to look, as a Prometheus scrape would. */
class TestReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

// Registered before any regstack exists, as docs/observability.md tells hosts to.
const spans = new InMemorySpanExporter();
const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: spans })] });
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
trace.setGlobalTracerProvider(tracerProvider);
const reader = new TestReader();
const meterProvider = new MeterProvider({ readers: [reader] });
metrics.setGlobalMeterProvider(meterProvider);

afterAll(async () => {
  await tracerProvider.shutdown();
  await meterProvider.shutdown();
});

const PASSWORD = 'correct horse battery staple';
const WRONG = 'not the password at all';

async function collect(): Promise<MetricData[]> {
  const { resourceMetrics, errors } = await reader.collect();
  expect(errors).toEqual([]);
  return resourceMetrics.scopeMetrics.filter((s) => s.scope.name === '@regstack/server').flatMap((s) => s.metrics);
}

function points(all: MetricData[], name: string): DataPoint<unknown>[] {
  return (all.find((m) => m.descriptor.name === name)?.dataPoints ?? []) as DataPoint<unknown>[];
}

/** The value of the data point whose attributes include `match` (0 when there is none). */
function sumOf(all: MetricData[], name: string, match: Record<string, string> = {}): number {
  const found = points(all, name).filter((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v));
  return found.reduce((sum, p) => sum + (p.value as number), 0);
}

/** Every attribute value regstack put on a span or a data point, as text. */
function everyAttributeValue(spanList: ReadableSpan[], all: MetricData[]): string[] {
  const out: string[] = [];
  for (const s of spanList) for (const v of Object.values(s.attributes)) out.push(String(v));
  for (const m of all) for (const p of m.dataPoints) for (const v of Object.values(p.attributes)) out.push(String(v));
  return out;
}

const ALLOWED_SPAN_ATTRIBUTES = new Set([
  'rpc.system.name',
  'rpc.method',
  'regstack.procedure.type',
  'rpc.response.status_code',
  'error.type',
]);

describeEachBackend('OpenTelemetry spans and metrics (issue 21)', (ctx) => {
  let regstack: Regstack;
  const clock = createManualClock();
  const lines: Array<Record<string, unknown>> = [];
  const mailbox = createMailbox();
  const secrets: string[] = [PASSWORD, WRONG];

  beforeAll(async () => {
    const config = parseConfig({
      jwtSecret: TEST_SECRET,
      databaseUrl: ctx.url,
      baseUrl: 'https://accounts.example.test',
      hashConcurrency: 1,
      hashQueueLimit: 256,
      loginRateLimit: '1000/minute',
    });
    regstack = await createRegstack({
      config,
      email: mailbox,
      clock,
      startWorkers: false,
      logger: createJsonLogger({ level: 'debug', write: (line) => lines.push(JSON.parse(line)) }),
    });
    await regstack.installSchema();
  });
  afterAll(async () => {
    await regstack?.close();
  });
  beforeEach(() => {
    spans.reset();
  });

  async function verifiedUser(email: string): Promise<void> {
    const caller = regstack.createCaller();
    await caller.register({ email, password: PASSWORD });
    await regstack.drainOutbox();
    const token = mailbox.tokenFor(email, 'verify');
    if (!token) throw new Error(`no verification mail for ${email}`);
    secrets.push(token);
    await caller.verifyEmail({ token });
  }

  it('a router call is one SERVER span `regstack <path>` with the RPC attributes, and logins are counted by outcome', async () => {
    const email = `otel-router-${ctx.backend}@example.com`;
    secrets.push(email);
    await verifiedUser(email);
    const before = await collect();
    spans.reset();
    const caller = regstack.createCaller();

    const ok = await caller.login({ email, password: PASSWORD });
    if (ok.status !== 'authenticated') throw new Error('expected a session');
    secrets.push(ok.accessToken);
    await expect(caller.login({ email, password: WRONG })).rejects.toMatchObject({
      cause: { code: 'INVALID_CREDENTIALS' },
    });
    await expect(caller.login({ email: `nobody-${email}`, password: WRONG })).rejects.toMatchObject({
      cause: { code: 'INVALID_CREDENTIALS' },
    });
    await regstack.createCaller({ accessToken: ok.accessToken }).account.me();

    const finished = spans.getFinishedSpans();
    expect(finished.map((s) => s.name)).toEqual([
      'regstack login',
      'regstack login',
      'regstack login',
      'regstack account.me',
    ]);
    const [success, wrong, , me] = finished;
    expect(success?.kind).toBe(1); // SpanKind.SERVER
    expect(success?.attributes).toEqual({
      'rpc.system.name': 'trpc',
      'rpc.method': 'login',
      'regstack.procedure.type': 'mutation',
      'rpc.response.status_code': 'OK',
    });
    expect(success?.instrumentationScope.name).toBe('@regstack/server');
    expect(success?.instrumentationScope.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(wrong?.attributes).toMatchObject({
      'rpc.response.status_code': 'UNAUTHORIZED',
      'error.type': 'INVALID_CREDENTIALS',
    });
    // A refused password is an answer, not a server failure: the span is not marked as an error.
    expect(wrong?.status.code).not.toBe(2);
    expect(me?.attributes).toMatchObject({ 'rpc.method': 'account.me', 'regstack.procedure.type': 'query' });
    for (const s of finished)
      for (const key of Object.keys(s.attributes)) expect(ALLOWED_SPAN_ATTRIBUTES).toContain(key);

    const after = await collect();
    const delta = (outcome: string) =>
      sumOf(after, 'regstack.login.attempts', {
        'regstack.login.step': 'password',
        'regstack.login.outcome': outcome,
      }) -
      sumOf(before, 'regstack.login.attempts', {
        'regstack.login.step': 'password',
        'regstack.login.outcome': outcome,
      });
    expect(delta('success')).toBe(1);
    expect(delta('wrong_password')).toBe(1);
    expect(delta('unknown_account')).toBe(1);
    const durations = points(after, 'rpc.server.call.duration') as DataPoint<Histogram>[];
    const refused = durations.find(
      (p) => p.attributes['rpc.method'] === 'login' && p.attributes['error.type'] === 'INVALID_CREDENTIALS',
    );
    expect(refused?.value.count).toBeGreaterThanOrEqual(2);
    expect(refused?.value.sum).toBeGreaterThan(0);
    expect(refused?.attributes['rpc.system.name']).toBe('trpc');
    const metric = after.find((m) => m.descriptor.name === 'rpc.server.call.duration');
    expect(metric?.descriptor.unit).toBe('s');

    const values = everyAttributeValue(finished, after);
    for (const secret of secrets) for (const v of values) expect(v).not.toContain(secret);
  });

  it('a lockout counts once per refused check, and the login outcome says locked_out (R14–R16)', async () => {
    const email = `otel-lock-${ctx.backend}@example.com`;
    secrets.push(email);
    await verifiedUser(email);
    const before = await collect();
    const caller = regstack.createCaller();
    for (let i = 0; i < 5; i++) await expect(caller.login({ email, password: WRONG })).rejects.toThrow();
    await expect(caller.login({ email, password: PASSWORD })).rejects.toMatchObject({
      cause: { code: 'TOO_MANY_ATTEMPTS' },
    });
    const after = await collect();
    expect(sumOf(after, 'regstack.lockouts') - sumOf(before, 'regstack.lockouts')).toBe(1);
    const lockedOut = { 'regstack.login.outcome': 'locked_out' };
    expect(
      sumOf(after, 'regstack.login.attempts', lockedOut) - sumOf(before, 'regstack.login.attempts', lockedOut),
    ).toBe(1);
    const locked = spans.getFinishedSpans().at(-1);
    expect(locked?.attributes).toMatchObject({
      'rpc.response.status_code': 'TOO_MANY_REQUESTS',
      'error.type': 'TOO_MANY_ATTEMPTS',
    });
  });

  it('reports the outbox depth and the age of the oldest undelivered message, and 0 once delivered', async () => {
    await regstack.drainOutbox();
    const empty = await collect();
    expect(sumOf(empty, 'regstack.outbox.pending')).toBe(0);
    expect(sumOf(empty, 'regstack.outbox.oldest_pending_age')).toBe(0);

    const caller = regstack.createCaller();
    await caller.register({ email: `otel-outbox-a-${ctx.backend}@example.com`, password: PASSWORD });
    clock.advance(90_000);
    await caller.register({ email: `otel-outbox-b-${ctx.backend}@example.com`, password: PASSWORD });
    clock.advance(5_000);
    const backlog = await collect();
    expect(sumOf(backlog, 'regstack.outbox.pending')).toBe(2);
    expect(sumOf(backlog, 'regstack.outbox.oldest_pending_age')).toBeCloseTo(95, 0);

    await regstack.drainOutbox();
    const drained = await collect();
    expect(sumOf(drained, 'regstack.outbox.pending')).toBe(0);
    expect(sumOf(drained, 'regstack.outbox.oldest_pending_age')).toBe(0);
  });

  it('reports the hashing queue while logins wait for the one hashing slot (hash_concurrency = 1)', async () => {
    const caller = regstack.createCaller();
    const logins = Array.from({ length: 6 }, (_, i) =>
      caller.login({ email: `otel-queue-${i}-${ctx.backend}@example.com`, password: WRONG }).catch(() => null),
    );
    let queued = 0;
    let active = 0;
    for (let i = 0; i < 200 && queued === 0; i++) {
      const seen = await collect();
      queued = sumOf(seen, 'regstack.hash.queued');
      active = sumOf(seen, 'regstack.hash.active');
      if (queued === 0) await new Promise((r) => setTimeout(r, 5));
    }
    await Promise.all(logins);
    expect(queued).toBeGreaterThan(0);
    expect(active).toBe(1);
    const idle = await collect();
    expect(sumOf(idle, 'regstack.hash.queued')).toBe(0);
    expect(sumOf(idle, 'regstack.hash.active')).toBe(0);
  });

  describe('over HTTP', () => {
    let server: { url: string; close(): Promise<void> };
    let api: ReturnType<typeof rawClient>;
    beforeAll(async () => {
      server = await regstack.listen({ port: 0 });
      api = rawClient(server.url);
    });
    afterAll(async () => {
      await server?.close();
    });

    it('spans are `regstack auth.<path>`, continue an incoming traceparent, and never carry the input', async () => {
      const email = `otel-http-${ctx.backend}@example.com`;
      secrets.push(email);
      await verifiedUser(email);
      spans.reset();
      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      const login = await api.mutation(
        'auth.login',
        { email, password: PASSWORD },
        { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      );
      expect(login.status).toBe(200);
      secrets.push(data(login).accessToken);
      const wrong = await api.mutation('auth.login', { email, password: WRONG });
      expect(error(wrong).data.regstackCode).toBe('INVALID_CREDENTIALS');
      const bad = await api.mutation('auth.login', { email: 'not an address', password: WRONG });
      expect(bad.status).toBe(400);

      const finished = spans.getFinishedSpans();
      expect(finished.map((s) => s.name)).toEqual([
        'regstack auth.login',
        'regstack auth.login',
        'regstack auth.login',
      ]);
      expect(finished[0]?.spanContext().traceId).toBe(traceId);
      expect(finished[0]?.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
      expect(finished[1]?.spanContext().traceId).not.toBe(traceId);
      expect(finished[0]?.attributes['rpc.method']).toBe('auth.login');
      expect(finished[2]?.attributes['error.type']).toBe('VALIDATION_FAILED');
      const values = everyAttributeValue(finished, await collect());
      for (const secret of [...secrets, 'not an address']) for (const v of values) expect(v).not.toContain(secret);
    });

    it('every log line of a request carries its request id and trace id; the response echoes the id', async () => {
      lines.length = 0;
      spans.reset();
      // A refused bearer token is logged (R73), after the answer, by work the request started.
      const refused = await api.query('auth.account.me', undefined, { authorization: 'Bearer not-a-token' });
      expect(refused.status).toBe(401);
      const requestId = refused.headers.get('x-request-id');
      expect(requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      await regstack.settle();
      const logged = lines.filter((l) => l.msg === 'access token refused');
      expect(logged).toHaveLength(1);
      expect(logged[0]?.requestId).toBe(requestId);
      const span = spans.getFinishedSpans().find((s) => s.name === 'regstack auth.account.me');
      expect(logged[0]?.traceId).toBe(span?.spanContext().traceId);
      expect(JSON.stringify(logged[0])).not.toContain('not-a-token');
    });

    it('keeps a safe incoming X-Request-Id and replaces one that could forge a line or flood the log', async () => {
      const kept = await api.query('auth.account.me', undefined, { 'x-request-id': 'edge-7f3a.b2:91_x' });
      expect(kept.headers.get('x-request-id')).toBe('edge-7f3a.b2:91_x');
      for (const unsafe of ['has space', 'a"b', 'x'.repeat(129), 'é', '{"level":"info"}']) {
        const r = await api.query('auth.account.me', undefined, { 'x-request-id': unsafe });
        const echoed = r.headers.get('x-request-id');
        expect(echoed).not.toBe(unsafe);
        expect(echoed).toMatch(/^[0-9a-f-]{36}$/);
      }
      const health = await fetch(new URL('/healthz', server.url));
      expect(health.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    });
  });
});
