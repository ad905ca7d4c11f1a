/**
 * Serves a fetch handler on Node's `http` module: the request becomes a WHATWG Request (body streamed, the
 * handler enforces the size limit), the Response is written back. The TCP peer address is passed on for
 * per-client limits.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { RegstackFetchHandler } from './fetch-handler.ts';

export function toRequest(req: IncomingMessage, origin: string): Request {
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (Array.isArray(v)) for (const item of v) headers.append(k, item);
    else if (v !== undefined) headers.set(k, v);
  }
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  return new Request(new URL(req.url ?? '/', origin), {
    method: req.method ?? 'GET',
    headers,
    ...(hasBody && { body: Readable.toWeb(req) as ReadableStream, duplex: 'half' }),
  } as RequestInit);
}

export async function writeResponse(res: ServerResponse, response: Response): Promise<void> {
  res.statusCode = response.status;
  response.headers.forEach((value, key) => {
    res.setHeader(key, value);
  });
  if (!response.body) {
    res.end();
    return;
  }
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) res.write(chunk);
  res.end();
}

export function createNodeServer(handler: RegstackFetchHandler): Server {
  return createServer(async (req, res) => {
    try {
      const response = await handler(toRequest(req, `http://${req.headers.host ?? 'localhost'}`), {
        remoteAddress: req.socket.remoteAddress ?? null,
      });
      await writeResponse(res, response);
    } catch {
      if (!res.headersSent) {
        res.statusCode = 500;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ error: 'internal server error' }));
      } else res.destroy();
    }
  });
}
