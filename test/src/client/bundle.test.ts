/**
 * The client is browser code that knows the server only by type (STYLE "Types and packages"): bundling it
 * for the browser platform must succeed with no Node built-ins available, and the bundle must contain no
 * server code — no argon2, MikroORM, jose (token signing), nodemailer, database drivers, or regstack's
 * server sources. The gzipped size is printed for the record.
 */
import { gzipSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { repoPath } from './support.ts';

const FORBIDDEN_INPUTS = [
  /\/server\/src\//,
  /node_modules\/(\.pnpm\/)?argon2/,
  /@mikro-orm/,
  /node_modules\/(\.pnpm\/)?jose[@/]/,
  /nodemailer/,
  /better-sqlite3|node_modules\/(\.pnpm\/)?(pg|mongodb|kysely)[@/]/,
  /@trpc\/server\/dist\/adapters/,
];
const FORBIDDEN_TEXT = [/argon2/i, /mikro-orm/i, /SignJWT/, /nodemailer/i, /better-sqlite3/, /hashed_password/];

async function bundle(entry: string, external: string[] = []) {
  const result = await build({
    entryPoints: [repoPath('client', 'src', entry)],
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'esm',
    minify: true,
    metafile: true,
    // The workspace convention: packages resolve to their TypeScript sources under this condition.
    conditions: ['@regstack/source'],
    external,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]!.text;
  return { code, inputs: Object.keys((result.metafile as Metafile).inputs), gzip: gzipSync(code).byteLength };
}

describe('the browser bundle of @regstack/client', () => {
  it('holds no server code', async () => {
    const { code, inputs, gzip } = await bundle('index.ts');
    // Sanity: the bundle is the real client (tRPC's client and superjson are in it).
    expect(inputs.some((i) => i.includes('@trpc/client'))).toBe(true);
    expect(inputs.some((i) => i.includes('superjson'))).toBe(true);
    expect(inputs.some((i) => i.includes('/client/src/client.ts'))).toBe(true);
    for (const pattern of FORBIDDEN_INPUTS) expect(inputs.filter((i) => pattern.test(i))).toEqual([]);
    for (const pattern of FORBIDDEN_TEXT) expect(code).not.toMatch(pattern);
    console.log(
      `[bundle] @regstack/client: ${(code.length / 1024).toFixed(1)} KiB minified, ${(gzip / 1024).toFixed(1)} KiB gzipped`,
    );
    // A budget with headroom, so a stray dependency is noticed.
    expect(gzip).toBeLessThan(40 * 1024);
  });

  it('the React and Vue entry points hold no server code either (frameworks stay external)', async () => {
    const frameworks = ['react', 'react-dom', 'vue', '@tanstack/react-query', '@trpc/tanstack-react-query'];
    for (const entry of ['react.ts', 'vue.ts']) {
      const { code, inputs, gzip } = await bundle(entry, frameworks);
      for (const pattern of FORBIDDEN_INPUTS) expect(inputs.filter((i) => pattern.test(i))).toEqual([]);
      for (const pattern of FORBIDDEN_TEXT) expect(code).not.toMatch(pattern);
      console.log(
        `[bundle] @regstack/client/${entry.replace('.ts', '')}: ${(gzip / 1024).toFixed(1)} KiB gzipped (without the framework)`,
      );
    }
  });
});
