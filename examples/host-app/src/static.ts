/**
 * Serves a built single-page app (the Vite React page) from a directory: files by path, `index.html` for
 * every other GET so client-side routes such as `/account/verify?token=…` load the app. Paths are resolved
 * inside the directory only (no `..` escape).
 */
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
};

export interface StaticFile {
  body: Uint8Array<ArrayBuffer>;
  type: string;
  /** Hashed asset names never change, so they may be cached; index.html must not be. */
  cacheControl: string;
}

export async function readStaticFile(dir: string, pathname: string): Promise<StaticFile | null> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  const root = normalize(dir);
  const candidate = normalize(join(root, decoded));
  if (candidate !== root && !candidate.startsWith(root.endsWith(sep) ? root : root + sep)) return null;
  const file = (await isFile(candidate)) ? candidate : join(root, 'index.html');
  if (!(await isFile(file))) return null;
  const isIndex = file === join(root, 'index.html');
  return {
    body: new Uint8Array(await readFile(file)),
    type: TYPES[extname(file)] ?? 'application/octet-stream',
    cacheControl: isIndex ? 'no-store' : 'public, max-age=31536000, immutable',
  };
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
