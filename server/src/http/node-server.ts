/**
 * Serves a fetch handler on Node's `http` module: the request becomes a WHATWG Request (body streamed, the
 * handler enforces the size limit), the Response is written back. The TCP peer address is passed on for
 * per-client limits.
 *
 * Rules of this adapter: no request ever gets a 500 for what the client sent — a method a fetch `Request`
 * cannot carry (TRACE, CONNECT, TRACK) gets the resource's 405 with `Allow`, an unparseable target 400. A
 * response sent before the request body has fully arrived (a 413) says `Connection: close`, keeps reading and
 * discarding the body for a short while so the client sees the answer rather than a reset, then closes.
 * `shutdown()` drains (R72): stop accepting, answer every request already received with `Connection: close`,
 * close idle keep-alive connections, and destroy what is left when the timeout ends.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import { isIPv6, type Socket } from 'node:net';
import type { RegstackFetchHandler } from './fetch-handler.ts';
import { bodyPending, bodyStream, discardRest } from './node-request-body.ts';

/** Methods WHATWG fetch forbids in a `Request`: Node's parser accepts some of them, `new Request` throws. */
const FETCH_FORBIDDEN_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK']);

/**
 * How long a connection whose answer went out before its request body arrived keeps discarding that body
 * before it is closed anyway. Closing while the client still sends makes the kernel reset the connection,
 * which can destroy the answer before the client reads it.
 */
const LINGER_MS = 2000;

/**
 * The URL of a request target. An origin-form target (`/path?query`) is a path on `origin` even when it starts with
 * `//`: resolved against a base, WHATWG URL reads `//trpc/x` as the host "trpc", and the fetch handler's canonical
 * path (R20) would never see it. Any other form (absolute-form, `*`) resolves as a URL.
 */
export function requestUrl(target: string | undefined, origin: string): URL {
  const t = target ?? '/';
  return t.startsWith('/') ? new URL(`${origin}${t}`) : new URL(t, origin);
}

export function toRequest(req: IncomingMessage, origin: string, body?: ReadableStream<Uint8Array>): Request {
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (Array.isArray(v)) for (const item of v) headers.append(k, item);
    else if (v !== undefined) headers.set(k, v);
  }
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  return new Request(requestUrl(req.url, origin), {
    method: req.method ?? 'GET',
    headers,
    ...(hasBody && body && { body, duplex: 'half' }),
  } as RequestInit);
}

/**
 * Copies a fetch `Response`'s headers onto Node's response. `Set-Cookie` is the one header that may repeat and
 * must not be folded: each cookie goes as its own line (`setHeader` with one value would keep only the last).
 */
function copyHeaders(res: ServerResponse, response: Response): void {
  response.headers.forEach((value, key) => {
    if (key !== 'set-cookie') res.setHeader(key, value);
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) res.setHeader('set-cookie', cookies);
}

export async function writeResponse(res: ServerResponse, response: Response): Promise<void> {
  res.statusCode = response.status;
  copyHeaders(res, response);
  if (!response.body) {
    res.end();
    return;
  }
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) res.write(chunk);
  res.end();
}

/** A complete response written straight onto a socket (for CONNECT, which never gets a ServerResponse). */
async function writeRaw(socket: Socket, response: Response): Promise<void> {
  const body = Buffer.from(await response.arrayBuffer());
  const lines = [`HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? ''}`];
  response.headers.forEach((value, key) => {
    if (key !== 'content-length' && key !== 'connection') lines.push(`${key}: ${value}`);
  });
  lines.push(`content-length: ${body.byteLength}`, 'connection: close', '', '');
  socket.end(Buffer.concat([Buffer.from(lines.join('\r\n')), body]));
}

function plain(status: number, message: string): Response {
  return new Response(JSON.stringify({ error: message }), {
    status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' },
  });
}

export interface NodeServerOptions {
  /**
   * The answer to a method the fetch handler cannot be asked about (TRACE, CONNECT, TRACK): regstack's
   * `methodRefusal`, so each resource's 405 names its own `Allow`.
   * @default 405 with `Allow: GET, HEAD, POST`
   */
  refuseMethod?: (pathname: string, method: string) => Response;
}

export interface RegstackNodeServer extends Server {
  /**
   * Graceful stop (R72): stop accepting, answer every request already received (those answers carry
   * `Connection: close`), close idle keep-alive connections, and after `timeoutMs` destroy whatever is still
   * open. Resolves once every connection is closed. Calling it again returns the same promise.
   */
  shutdown(timeoutMs: number): Promise<void>;
}

const ioTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export function createNodeServer(handler: RegstackFetchHandler, options: NodeServerOptions = {}): RegstackNodeServer {
  const refuseMethod =
    options.refuseMethod ??
    (() => {
      const response = plain(405, 'method not allowed');
      response.headers.set('allow', 'GET, HEAD, POST');
      return response;
    });
  let draining = false;
  let shutdownPromise: Promise<void> | undefined;
  // Connections whose current answer said `Connection: close`: a request pipelined behind it is never run,
  // because its answer could not be delivered.
  const closing = new WeakSet<Socket>();
  // Connections accepted and requests begun: the drain waits until these stop moving (see `shutdown`).
  let activity = 0;

  const pathnameOf = (req: IncomingMessage) => {
    try {
      return requestUrl(req.url, 'http://localhost').pathname;
    } catch {
      return '/';
    }
  };

  const server = createServer(async (req, res) => {
    activity++;
    if (closing.has(req.socket)) {
      req.resume();
      return;
    }
    res.once('finish', () => {
      // A keep-alive answer that started before the drain leaves an idle connection behind: close it now.
      if (draining) server.closeIdleConnections();
    });
    const method = (req.method ?? 'GET').toUpperCase();
    let request: Request | undefined;
    let body: ReturnType<typeof bodyStream> | undefined;
    try {
      if (FETCH_FORBIDDEN_METHODS.has(method)) {
        await respond(req, res, refuseMethod(pathnameOf(req), method), body);
        return;
      }
      if (method !== 'GET' && method !== 'HEAD') body = bodyStream(req);
      try {
        request = toRequest(req, `http://${req.headers.host ?? 'localhost'}`, body?.stream);
      } catch {
        // A target or header `new Request` refuses (e.g. a Host that is no host name): the client's fault.
        await respond(req, res, plain(400, 'bad request'), body);
        return;
      }
      const response = await handler(request, { remoteAddress: req.socket.remoteAddress ?? null });
      await respond(req, res, response, body);
    } catch {
      if (!res.headersSent) {
        if (draining) res.setHeader('connection', 'close');
        res.statusCode = 500;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ error: 'internal server error' }));
      } else res.destroy();
    } finally {
      body?.detach();
    }
  }) as RegstackNodeServer;

  /**
   * Writes `response`; during a drain it closes the connection, and if the request body has not all arrived
   * it closes the connection cleanly after the answer.
   */
  async function respond(
    req: IncomingMessage,
    res: ServerResponse,
    response: Response,
    body: ReturnType<typeof bodyStream> | undefined,
  ): Promise<void> {
    if (draining) res.setHeader('connection', 'close');
    if (!bodyPending(req)) {
      await writeResponse(res, response);
      return;
    }
    body?.detach();
    closing.add(req.socket);
    res.setHeader('connection', 'close');
    res.statusCode = response.status;
    copyHeaders(res, response);
    const bytes = Buffer.from(await response.arrayBuffer());
    res.setHeader('content-length', bytes.byteLength);
    res.write(bytes);
    // The answer is complete on the wire (its length is declared); the connection closes once the body the
    // client is still sending has been read, so the close is a FIN rather than a reset.
    await discardRest(req, LINGER_MS);
    res.end();
  }

  // CONNECT never reaches the request listener; without this Node drops the connection without an answer.
  server.on('connect', (req: IncomingMessage, socket: Socket) => {
    socket.on('error', () => {});
    void writeRaw(socket, refuseMethod(pathnameOf(req), 'CONNECT')).catch(() => socket.destroy());
  });

  server.on('connection', () => {
    activity++;
  });

  /**
   * Connections already in the kernel's accept queue and requests already in socket buffers were sent before
   * the stop, but closing the listener would reset the first and closing idle connections the second. So the
   * loop runs through its I/O phase until several turns in a row accept no connection and begin no request
   * (bounded, for a server under a steady stream of new connections).
   */
  async function settleArrivals(maxMs: number): Promise<void> {
    let seen = activity;
    let quiet = 0;
    const deadline = Date.now() + maxMs;
    while (quiet < 5 && Date.now() < deadline) {
      await ioTurn();
      if (activity === seen) quiet++;
      else {
        seen = activity;
        quiet = 0;
      }
    }
  }

  server.shutdown = (timeoutMs: number) => {
    shutdownPromise ??= (async () => {
      draining = true;
      // The timeout counts from the stop, the settling included.
      let expired = false;
      const timer = setTimeout(() => {
        expired = true;
        server.closeAllConnections();
      }, timeoutMs);
      timer.unref();
      try {
        await settleArrivals(Math.min(2000, timeoutMs / 2));
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        if (expired) server.closeAllConnections();
        await closed;
      } finally {
        clearTimeout(timer);
      }
    })();
    return shutdownPromise;
  };
  return server;
}

/** `host` as it goes in a URL: an IPv6 address in brackets. */
export function urlHost(host: string): string {
  return isIPv6(host) ? `[${host}]` : host;
}

/**
 * Binds `server` to `host:port` (rejecting with Node's error: EADDRINUSE, EACCES, …). Resolves with the port bound
 * — the one the system picked when `port` is 0 — and the URL the server answers at.
 */
export async function listenOn(server: Server, port: number, host: string): Promise<{ port: number; url: string }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  return { port: bound, url: `http://${urlHost(host)}:${bound}` };
}
