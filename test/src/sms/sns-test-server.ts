/**
 * A loopback HTTP server that speaks the two Amazon SNS query-API calls regstack makes: `Publish` (with
 * `PhoneNumber`, `Message` and message attributes) and `GetSMSAttributes` (for `verify`), form posts answered in
 * SNS's XML. Errors come as SNS's `ErrorResponse`, whose message, like SNS's, repeats the number. The official SDK
 * is pointed at it through `sms.sns_endpoint`, so its real signing, serialisation and error parsing run end to end.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';

export interface SnsRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The form fields as sent (`Action`, `PhoneNumber`, `Message`, `MessageAttributes.entry.N.*`, …). */
  form: Record<string, string>;
}

export interface TestSnsServer {
  readonly endpoint: string;
  readonly requests: SnsRequest[];
  /** Answer every later request with this HTTP status and SNS error code, or succeed again (null). */
  failWith(failure: { status: number; code: string } | null): void;
  stop(): Promise<void>;
}

const XMLNS = 'http://sns.amazonaws.com/doc/2010-03-31/';

/** The message attributes of a Publish form, by name: `{ 'AWS.SNS.SMS.SMSType': 'Transactional' }`. */
export function messageAttributes(form: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (let n = 1; form[`MessageAttributes.entry.${n}.Name`] !== undefined; n++) {
    out[form[`MessageAttributes.entry.${n}.Name`] as string] =
      form[`MessageAttributes.entry.${n}.Value.StringValue`] ?? '';
  }
  return out;
}

export async function startSnsServer(): Promise<TestSnsServer> {
  const requests: SnsRequest[] = [];
  let failure: { status: number; code: string } | null = null;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const form = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
      requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, form });
      const requestId = randomUUID();
      const send = (status: number, xml: string) => {
        res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId });
        res.end(xml);
      };
      const error = (status: number, code: string, message: string) =>
        send(
          status,
          `<ErrorResponse xmlns="${XMLNS}"><Error><Type>${status < 500 ? 'Sender' : 'Receiver'}</Type>` +
            `<Code>${code}</Code><Message>${message}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
        );
      if (req.method !== 'POST' || req.url !== '/') {
        error(404, 'NotFound', 'unknown path');
        return;
      }
      if (failure) {
        error(
          failure.status,
          failure.code,
          `Invalid parameter: PhoneNumber Reason: ${form.PhoneNumber ?? ''} is not valid`,
        );
        return;
      }
      const meta = `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata>`;
      if (form.Action === 'Publish') {
        send(
          200,
          `<PublishResponse xmlns="${XMLNS}"><PublishResult><MessageId>${randomUUID()}</MessageId></PublishResult>${meta}</PublishResponse>`,
        );
        return;
      }
      if (form.Action === 'GetSMSAttributes') {
        send(
          200,
          `<GetSMSAttributesResponse xmlns="${XMLNS}"><GetSMSAttributesResult><attributes>` +
            '<entry><key>DefaultSMSType</key><value>Transactional</value></entry>' +
            `</attributes></GetSMSAttributesResult>${meta}</GetSMSAttributesResponse>`,
        );
        return;
      }
      error(400, 'InvalidAction', `unknown action ${form.Action ?? ''}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('no port');
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    requests,
    failWith(next) {
      failure = next;
    },
    stop() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
