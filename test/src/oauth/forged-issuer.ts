/**
 * A tiny hand-rolled OpenID issuer for the attack suite: discovery, a JWKS and a token endpoint that answers
 * whatever ID token the test forges (jose). A certified provider never issues a bad token, so this is how the
 * relying party's own checks are reached: wrong nonce, another audience or issuer, expired, `alg: none`,
 * HS256 keyed with the public key, a signature by another key.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, type JWTPayload, SignJWT, UnsecuredJWT } from 'jose';

export type Forgery =
  | 'good'
  | 'wrong_nonce'
  | 'no_nonce'
  | 'other_audience'
  | 'other_issuer'
  | 'expired'
  | 'alg_none'
  | 'hs256_public_key'
  | 'other_key';

export interface ForgedIssuer {
  issuer: string;
  /** What the next token request is answered with; `nonce` is the one the relying party sent. */
  next: { forgery: Forgery; nonce: string; subject: string; email: string; clientId: string };
  close(): Promise<void>;
}

export async function startForgedIssuer(): Promise<ForgedIssuer> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const stranger = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'forged-key', alg: 'RS256', use: 'sig' };
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const state: ForgedIssuer = {
    issuer,
    next: { forgery: 'good', nonce: '', subject: 'forged-sub', email: 'forged@example.com', clientId: '' },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };

  async function idToken(): Promise<string> {
    const { forgery, nonce, subject, email, clientId } = state.next;
    const now = Math.floor(Date.now() / 1000);
    const claims: JWTPayload = {
      iss: forgery === 'other_issuer' ? 'https://impostor.example' : issuer,
      aud: forgery === 'other_audience' ? 'someone-else' : clientId,
      sub: subject,
      iat: forgery === 'expired' ? now - 3600 : now,
      exp: forgery === 'expired' ? now - 1800 : now + 300,
      email,
      email_verified: true,
      ...(forgery !== 'no_nonce' && { nonce: forgery === 'wrong_nonce' ? 'not-the-nonce' : nonce }),
    };
    if (forgery === 'alg_none') return new UnsecuredJWT(claims).encode();
    if (forgery === 'hs256_public_key') {
      const secret = new TextEncoder().encode(await exportSPKI(publicKey));
      return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: 'forged-key' }).sign(secret);
    }
    const key = forgery === 'other_key' ? stranger.privateKey : privateKey;
    return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'forged-key' }).sign(key);
  }

  server.on('request', (req, res) => {
    const path = new URL(req.url ?? '/', issuer).pathname;
    const send = (body: unknown) => {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    if (path === '/.well-known/openid-configuration') {
      send({
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        code_challenge_methods_supported: ['S256'],
      });
    } else if (path === '/jwks') {
      send({ keys: [jwk] });
    } else if (path === '/token' && req.method === 'POST') {
      req.resume();
      req.on('end', () => {
        void idToken().then((id_token) =>
          send({ access_token: 'forged', token_type: 'Bearer', expires_in: 60, id_token }),
        );
      });
    } else {
      res.writeHead(404).end();
    }
  });
  return state;
}
