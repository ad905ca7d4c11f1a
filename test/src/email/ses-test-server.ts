/**
 * A loopback HTTP server that speaks the one Amazon SES v2 call regstack makes: `SendEmail`
 * (`POST /v2/email/outbound-emails`, JSON in, `{"MessageId": …}` out). The official SDK is pointed at it through
 * its `endpoint` option, so the real client code — signing, serialisation, error handling — runs end to end.
 */

import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';

export interface SesRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: {
    FromEmailAddress?: string;
    Destination?: { ToAddresses?: string[] };
    Content?: { Raw?: { Data?: string } };
    ConfigurationSetName?: string;
  };
  /** `Content.Raw.Data`, base64-decoded: the MIME message nodemailer composed. */
  raw: string;
}

export interface TestSesServer {
  readonly endpoint: string;
  readonly requests: SesRequest[];
  /** Answer every later request with this HTTP status and an SES-style error (e.g. 500), or 200 again (null). */
  failWith(status: number | null): void;
  stop(): Promise<void>;
}

export async function startSesServer(): Promise<TestSesServer> {
  const requests: SesRequest[] = [];
  let failure: number | null = null;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: SesRequest['body'] = {};
      try {
        body = JSON.parse(text) as SesRequest['body'];
      } catch {
        // recorded as an empty body; the assertions then fail with something readable
      }
      const raw = Buffer.from(body.Content?.Raw?.Data ?? '', 'base64').toString('utf8');
      requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, raw });
      if (req.method !== 'POST' || req.url !== '/v2/email/outbound-emails') {
        res.writeHead(404, { 'content-type': 'application/json', 'x-amzn-errortype': 'NotFoundException' });
        res.end(JSON.stringify({ message: 'unknown operation' }));
        return;
      }
      if (failure !== null) {
        res.writeHead(failure, { 'content-type': 'application/json', 'x-amzn-errortype': 'InternalFailure' });
        res.end(JSON.stringify({ message: 'The request processing has failed because of an unknown error' }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'x-amzn-requestid': randomUUID() });
      res.end(JSON.stringify({ MessageId: `0100-${randomUUID()}-000000` }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('no port');
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    requests,
    failWith(status) {
      failure = status;
    },
    stop() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
