/**
 * A throwaway self-signed TLS certificate for `localhost` / 127.0.0.1, made with node:crypto alone (Node can sign
 * but has no certificate builder, so the few DER structures of an X.509 v3 certificate are written out here). The
 * SMTP tests serve STARTTLS with it and make the client trust exactly this certificate (`tls.ca`), so TLS is
 * really verified — no `rejectUnauthorized: false`.
 */
import { generateKeyPairSync, randomBytes, sign, X509Certificate } from 'node:crypto';

function der(tag: number, content: Buffer): Buffer {
  const length = content.length;
  if (length < 0x80) return Buffer.concat([Buffer.from([tag, length]), content]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n >>= 8) bytes.unshift(n & 0xff);
  return Buffer.concat([Buffer.from([tag, 0x80 | bytes.length, ...bytes]), content]);
}

const sequence = (...items: Buffer[]) => der(0x30, Buffer.concat(items));
const set = (...items: Buffer[]) => der(0x31, Buffer.concat(items));
const octetString = (content: Buffer) => der(0x04, content);
const bitString = (content: Buffer) => der(0x03, Buffer.concat([Buffer.from([0]), content]));
const explicit = (tagNumber: number, content: Buffer) => der(0xa0 + tagNumber, content);
const utf8String = (text: string) => der(0x0c, Buffer.from(text, 'utf8'));
const boolean = (value: boolean) => der(0x01, Buffer.from([value ? 0xff : 0]));

function integer(bytes: Buffer): Buffer {
  // DER integers are minimal: leading zero bytes go (a random serial starts with one in 1 of 256 certificates,
  // and OpenSSL then refuses the certificate as "illegal padding")…
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start += 1;
  const minimal = bytes.subarray(start);
  // … and signed: a leading 1 bit needs a zero byte in front to stay positive.
  return der(0x02, (minimal[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), minimal]) : minimal);
}

function objectId(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split('.').map(Number);
  const out = [40 * a + b];
  for (const arc of rest) {
    const groups: number[] = [];
    for (let n = arc; ; n = Math.floor(n / 128)) {
      groups.unshift(n % 128);
      if (n < 128) break;
    }
    out.push(...groups.map((g, i) => (i < groups.length - 1 ? g | 0x80 : g)));
  }
  return der(0x06, Buffer.from(out));
}

function utcTime(date: Date): Buffer {
  const iso = date.toISOString(); // 2025-01-02T03:04:05.000Z → 250102030405Z
  const text = `${iso.slice(2, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  return der(0x17, Buffer.from(text, 'ascii'));
}

export interface TestCertificate {
  key: string;
  cert: string;
}

export function createSelfSignedCertificate(commonName = 'localhost'): TestCertificate {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const ecdsaWithSha256 = sequence(objectId('1.2.840.10045.4.3.2'));
  const name = sequence(set(sequence(objectId('2.5.4.3'), utf8String(commonName))));
  const now = Date.now();
  const subjectAltName = sequence(
    der(0x82, Buffer.from(commonName, 'ascii')), // dNSName
    der(0x87, Buffer.from([127, 0, 0, 1])), // iPAddress
  );
  const extensions = sequence(
    sequence(objectId('2.5.29.19'), boolean(true), octetString(sequence(boolean(true)))), // basicConstraints CA
    sequence(objectId('2.5.29.17'), octetString(subjectAltName)),
  );
  const tbs = sequence(
    explicit(0, integer(Buffer.from([2]))), // v3
    integer(randomBytes(16)),
    ecdsaWithSha256,
    name,
    sequence(utcTime(new Date(now - 60_000)), utcTime(new Date(now + 24 * 3600_000))),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, extensions),
  );
  const certificate = sequence(tbs, ecdsaWithSha256, bitString(sign('sha256', tbs, privateKey)));
  const body = certificate.toString('base64').replace(/(.{64})/g, '$1\n');
  const cert = `-----BEGIN CERTIFICATE-----\n${body.trimEnd()}\n-----END CERTIFICATE-----\n`;
  // Parse it back: a malformed structure fails here, not as a puzzling TLS error later.
  const parsed = new X509Certificate(cert);
  if (!parsed.verify(publicKey) || !parsed.checkHost(commonName)) throw new Error('test certificate is malformed');
  return { key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), cert };
}
