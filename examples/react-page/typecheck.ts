/**
 * Type-checks the page with the browser's lib (DOM) — and reports only the page's own files.
 *
 * Why not plain `tsc -p`: the page imports `type AppRouter`, which TypeScript follows into the host's and
 * regstack's *sources* (the workspace resolves them under the `@regstack/source` condition), and type-checks
 * them under this program's lib too. Some server code (request bodies and WebCrypto keys as
 * `Uint8Array<ArrayBufferLike>`) is valid under Node's types but not under lib.dom's stricter `BodyInit` /
 * `BufferSource`. Those files are checked under their own packages' settings by their own `typecheck`
 * scripts; here they would only be noise. A published @regstack/server ships declarations instead.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const here = dirname(fileURLToPath(import.meta.url));
const configPath = resolve(here, 'tsconfig.json');
const { config, error } = ts.readConfigFile(configPath, ts.sys.readFile);
if (error) throw new Error(ts.flattenDiagnosticMessageText(error.messageText, '\n'));
const parsed = ts.parseJsonConfigFileContent(config, ts.sys, here);
const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options });
const own = (file: ts.SourceFile | undefined) => !file || resolve(file.fileName).startsWith(`${here}/`);
const diagnostics = [
  ...program.getOptionsDiagnostics(),
  ...program.getGlobalDiagnostics(),
  ...program
    .getSourceFiles()
    .filter((f) => own(f) && !f.fileName.includes('/node_modules/'))
    .flatMap((f) => [...program.getSyntacticDiagnostics(f), ...program.getSemanticDiagnostics(f)]),
];
const host: ts.FormatDiagnosticsHost = {
  getCanonicalFileName: (f) => f,
  getCurrentDirectory: () => here,
  getNewLine: () => '\n',
};
if (diagnostics.length > 0) {
  process.stderr.write(ts.formatDiagnosticsWithColorAndContext(diagnostics, host));
  process.exit(1);
}
console.log(
  `react-page: ${program.getSourceFiles().filter((f) => own(f) && !f.fileName.includes('/node_modules/')).length} files type-check`,
);
