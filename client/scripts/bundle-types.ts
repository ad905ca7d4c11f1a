/**
 * Build step (after `tsc`): bundles the client's declarations into one file per entry point
 * (`dist/index.d.ts`, `dist/react.d.ts`, `dist/vue.d.ts`) with the router's *type* inlined, so the published
 * client carries it and an app without `@regstack/server` installed still gets typed procedures (issue 16
 * item 4). Left as tsc emits them, the declarations would `import('@regstack/server')`, and in an app without
 * that package TypeScript (with `skipLibCheck`, as app templates set it) would make every procedure `any`
 * without a word.
 *
 * rollup-plugin-dts does the bundling: it follows the server's emitted declarations for the router types and
 * keeps the client's own dependencies and peers (`@trpc/*`, `@regstack/shared`, React, Vue) as imports. One
 * cut: the router types name the server's per-request context (`ctx`), whose declaration reaches the
 * services, the ORM and node:http. A client never sees that context, so the server's context module is
 * replaced by a stand-in whose every export is `any` — `any` rather than an empty object so that a host's
 * router, built on the real context, still matches the client's copy of regstack's router (`path` checks).
 * The result is checked: an import of anything but the client's dependencies and peers fails the build.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { type Plugin, rollup } from 'rollup';
import { dts } from 'rollup-plugin-dts';
import ts from 'typescript';

const clientDir = join(import.meta.dirname, '..');
const dist = join(clientDir, 'dist');
const ENTRIES = ['index', 'react', 'vue'];
const manifest = JSON.parse(readFileSync(join(clientDir, 'package.json'), 'utf8')) as {
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
};
/** What the bundled declarations may import: the client's dependencies and peers, never the server. */
const allowedImports = new Set(
  [...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})].filter(
    (name) => name !== '@regstack/server',
  ),
);
const serverDir = realpathSync(dirname(createRequire(join(dist, 'index.js')).resolve('@regstack/server/package.json')));
const serverContext = join(serverDir, 'dist/trpc/context.d.ts');

/** The server's context module, every exported type turned into `any` (see the header for why). */
const serverContextStandIn: Plugin = {
  name: 'regstack-server-context-stand-in',
  load(id) {
    if (id !== serverContext) return null;
    const exportLines = readFileSync(id, 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('export '));
    const names = exportLines.map((line) => /^export (?:declare )?(?:interface|type) (\w+)/.exec(line)?.[1]);
    if (names.some((name) => name === undefined)) {
      throw new Error(
        `${id}: only exported interfaces and types can be stood in for, found:\n${exportLines.join('\n')}`,
      );
    }
    return names
      .map((name) => `/** The server's per-request context: server-side only. */\nexport type ${name} = any;\n`)
      .join('');
  },
};

const bundle = await rollup({
  input: Object.fromEntries(ENTRIES.map((name) => [name, join(dist, `${name}.d.ts`)])),
  // The server's declarations import node: built-ins; none of those declarations reaches the router types.
  external: (id) => id.startsWith('node:'),
  plugins: [
    serverContextStandIn,
    dts({
      includeExternal: ['@regstack/server'],
      sourcemap: true,
      compilerOptions: {
        module: ts.ModuleKind.NodeNext,
        moduleResolution: ts.ModuleResolutionKind.NodeNext,
        // The published declarations, not the workspace's `@regstack/source` condition (the .ts source).
        customConditions: [],
      },
    }),
  ],
  onwarn(warning, warn) {
    // The server's index re-exports the router module that imports the index back: harmless for declarations.
    if (warning.code === 'CYCLIC_CROSS_CHUNK_REEXPORT' || warning.code === 'CIRCULAR_REEXPORT') return;
    warn(warning);
  },
});
// Written to a scratch folder first: an output over one of its own inputs (dist/index.d.ts) sends the plugin's
// source-map remapping round in circles. The maps' paths are made relative to dist/ when the files move in.
const scratch = mkdtempSync(join(tmpdir(), 'regstack-client-types-'));
try {
  const { output } = await bundle.write({
    dir: scratch,
    format: 'es',
    sourcemap: true, // go-to-definition lands in src/ (shipped), as tsc's declaration maps did
    entryFileNames: '[name].d.ts',
    chunkFileNames: '[name].ts', // named after the chunk's first module, `client.d`
  });
  await bundle.close();

  for (const file of output) {
    if (file.type !== 'chunk') continue;
    const unexpected = [...file.code.matchAll(/(?:^import .* from |import\()'([^'.][^']*)'/gm)]
      .map((m) => m[1] ?? '')
      .filter((specifier) => !allowedImports.has(specifier) && !specifier.startsWith('@trpc/server/'));
    if (unexpected.length > 0) {
      throw new Error(
        `client ${file.fileName} would import ${[...new Set(unexpected)].join(', ')}: an app without it would see ` +
          '`any`. Keep the router types to the client’s dependencies and peers, or extend the stand-in.',
      );
    }
  }

  // tsc's per-module declarations are replaced by the bundle.
  for (const name of readdirSync(dist)) if (/\.d\.ts(\.map)?$/.test(name)) rmSync(join(dist, name));
  for (const file of output) {
    if (file.type === 'asset' && file.fileName.endsWith('.map')) {
      const map = JSON.parse(readFileSync(join(scratch, file.fileName), 'utf8')) as { sources: string[] };
      map.sources = map.sources.map((source) => relative(dist, resolve(scratch, source)));
      writeFileSync(join(scratch, file.fileName), JSON.stringify(map));
    }
    cpSync(join(scratch, file.fileName), join(dist, file.fileName));
  }
  console.log(`client: declarations bundled (${output.map((file) => file.fileName).join(', ')})`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
