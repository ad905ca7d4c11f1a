// Preloaded (`node --import`) by the workspace's `pnpm start`, which runs regstack from its TypeScript sources:
// an older Node would otherwise stop at the `.ts` entry with ERR_UNKNOWN_FILE_EXTENSION before any check of ours
// could run. Plain JavaScript that Node 18 parses; the built `regstack` command checks in src/node-version.ts.
// It also keeps Node's ExperimentalWarnings quiet, as `--disable-warning=ExperimentalWarning` would: that flag
// itself is a "bad option" to Node 18, which would then never reach this check.
const [major = 0, minor = 0] = process.versions.node.split('.').map((part) => Number.parseInt(part, 10) || 0);
if (major < 22 || (major === 22 && minor < 17)) {
  console.error(
    `regstack needs Node ≥ 22.17 (22 LTS or newer); this is Node ${process.versions.node} (${process.execPath}). ` +
      'Install Node 22 LTS from https://nodejs.org or your version manager (nvm install 22, fnm install 22), ' +
      'or start with ./dev start, which provisions it into the project.',
  );
  process.exit(1);
}
if (!process.features.typescript) {
  console.error(
    `running regstack from its TypeScript sources needs Node's type stripping (Node ≥ 22.18); this is Node ${process.versions.node}. ` +
      'Upgrade Node 22, or build (pnpm build) and run the regstack command from dist.',
  );
  process.exit(1);
}

const emitWarning = process.emitWarning;
process.emitWarning = (warning, ...rest) => {
  const type = typeof rest[0] === 'string' ? rest[0] : rest[0]?.type;
  if (type === 'ExperimentalWarning' || warning?.name === 'ExperimentalWarning') return;
  return emitWarning.call(process, warning, ...rest);
};
