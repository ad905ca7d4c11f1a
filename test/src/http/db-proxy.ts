/**
 * A loopback TCP proxy in front of a database server, for outage tests (R71): the test points regstack at the
 * proxy and then cuts it (every open connection reset, new ones refused), freezes it (connections accepted, or
 * kept open, but nothing passes either way — a hung server), or restores it. The shared database server itself is
 * never stopped.
 */
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';

export interface DbProxy {
  readonly port: number;
  /** Resets every open connection and refuses new ones (the listening socket closes). */
  cut(): Promise<void>;
  /** Nothing passes any more, either way; new connections are accepted and left waiting. */
  freeze(): void;
  /** Forwards again. Connections frozen meanwhile are reset (a pool must drop them and connect anew). */
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startDbProxy(target: { host: string; port: number }): Promise<DbProxy> {
  type Pair = { client: Socket; upstream: Socket | null };
  const pairs = new Set<Pair>();
  let frozen = false;
  let port = 0;

  const onConnection = (client: Socket) => {
    const pair: Pair = { client, upstream: null };
    pairs.add(pair);
    client.on('error', () => {});
    client.on('close', () => {
      pairs.delete(pair);
      pair.upstream?.destroy();
    });
    if (frozen) return; // accepted, never answered
    const upstream = connect(target.port, target.host);
    pair.upstream = upstream;
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  };

  let server: Server = createServer(onConnection);
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        port = (server.address() as AddressInfo).port;
        resolve();
      });
    });
  const stopListening = () => new Promise<void>((resolve) => server.close(() => resolve()));
  const resetAll = () => {
    for (const { client, upstream } of pairs) {
      client.resetAndDestroy();
      upstream?.destroy();
    }
    pairs.clear();
  };
  await listen();

  return {
    get port() {
      return port;
    },
    async cut() {
      frozen = false;
      const closing = stopListening();
      resetAll();
      await closing;
    },
    freeze() {
      frozen = true;
      for (const { client, upstream } of pairs) {
        client.unpipe();
        upstream?.unpipe();
        client.pause();
        upstream?.pause();
      }
    },
    async restore() {
      if (frozen) resetAll();
      frozen = false;
      if (!server.listening) {
        server = createServer(onConnection);
        await listen();
      }
    },
    async close() {
      frozen = false;
      resetAll();
      if (server.listening) await stopListening();
    },
  };
}

/** `url` with its host and port replaced by the proxy's. */
export function throughProxy(url: string, proxy: DbProxy): string {
  return url.replace(/^([a-z+]+:\/\/(?:[^@/]*@)?)[^/?]+/i, `$1127.0.0.1:${proxy.port}`);
}

/** The host and port a database URL names. */
export function hostAndPort(url: string, defaultPort: number): { host: string; port: number } {
  const m = /^[a-z+]+:\/\/(?:[^@/]*@)?([^/?:]+)(?::(\d+))?/i.exec(url);
  if (!m?.[1]) throw new Error('no host in the database URL');
  return { host: m[1], port: m[2] ? Number(m[2]) : defaultPort };
}
