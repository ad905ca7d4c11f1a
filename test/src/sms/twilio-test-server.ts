/**
 * A loopback HTTP server that speaks the two Twilio REST calls regstack makes: `POST
 * /2010-04-01/Accounts/{sid}/Messages.json` (a form post, basic auth, a Message resource back as JSON) and `GET
 * /2010-04-01/Accounts/{sid}.json` (the account, for `verify`). Errors come in Twilio's shape (`code`, `message`,
 * `more_info`, `status`). The official SDK is pointed at it through `sms.twilio_base_url`, so its real request
 * building, authentication and error handling run end to end.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';

export interface TwilioRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The form fields as sent. */
  form: Record<string, string>;
  /** The decoded basic-auth pair, or null. */
  auth: { username: string; password: string } | null;
}

export interface TestTwilioServer {
  readonly baseUrl: string;
  readonly requests: TwilioRequest[];
  /** The account SID and auth token the server accepts. */
  readonly accountSid: string;
  readonly authToken: string;
  /**
   * Answer every later message with this Twilio error (HTTP status, Twilio code); the message text, like Twilio's,
   * repeats the destination number. null: accept again.
   */
  failWith(failure: { status: number; code: number } | null): void;
  /** The status the account lookup reports (`active`, `suspended`, `closed`). */
  setAccountStatus(status: string): void;
  stop(): Promise<void>;
}

function twilioError(status: number, code: number, message: string) {
  return JSON.stringify({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });
}

export async function startTwilioServer(): Promise<TestTwilioServer> {
  const accountSid = `AC${randomBytes(16).toString('hex')}`;
  const authToken = randomBytes(16).toString('hex');
  const requests: TwilioRequest[] = [];
  let failure: { status: number; code: number } | null = null;
  let accountStatus = 'active';
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const form = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
      const header = req.headers.authorization ?? '';
      let auth: TwilioRequest['auth'] = null;
      if (header.startsWith('Basic ')) {
        const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        auth = { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
      }
      const path = req.url ?? '';
      requests.push({ method: req.method ?? '', path, headers: req.headers, form, auth });
      const send = (status: number, body: string) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(body);
      };
      if (auth?.username !== accountSid || auth.password !== authToken) {
        send(401, twilioError(401, 20003, 'Authenticate'));
        return;
      }
      if (req.method === 'GET' && path === `/2010-04-01/Accounts/${accountSid}.json`) {
        send(200, JSON.stringify({ sid: accountSid, friendly_name: 'regstack test', status: accountStatus }));
        return;
      }
      if (req.method !== 'POST' || path !== `/2010-04-01/Accounts/${accountSid}/Messages.json`) {
        send(404, twilioError(404, 20404, `The requested resource ${path} was not found`));
        return;
      }
      if (failure) {
        send(failure.status, twilioError(failure.status, failure.code, `The 'To' number ${form.To} is not valid.`));
        return;
      }
      const sid = `SM${randomBytes(16).toString('hex')}`;
      send(
        201,
        JSON.stringify({
          sid,
          account_sid: accountSid,
          to: form.To,
          from: form.From ?? null,
          messaging_service_sid: form.MessagingServiceSid ?? null,
          body: form.Body,
          status: 'queued',
          num_segments: '1',
          direction: 'outbound-api',
          api_version: '2010-04-01',
          date_created: new Date().toUTCString(),
          uri: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}.json`,
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('no port');
  return {
    baseUrl: `http://127.0.0.1:${address.port}`,
    requests,
    accountSid,
    authToken,
    failWith(next) {
      failure = next;
    },
    setAccountStatus(status) {
      accountStatus = status;
    },
    stop() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
