/**
 * The React page, built to `dist/` and served by the host app from the same origin as its `/trpc`
 * endpoint (regstack's server sends no CORS headers, so a page on another origin could not call it).
 * Vite 8 transforms JSX with oxc (automatic runtime) without a React plugin.
 */
import { defaultClientConditions, defineConfig } from 'vite';

export default defineConfig({
  // Workspace packages are resolved to their TypeScript sources (the repo's convention), so the page
  // builds without building @regstack/client first. A published @regstack/client resolves to its dist/.
  resolve: { conditions: ['@regstack/source', ...defaultClientConditions] },
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    rolldownOptions: {
      // TanStack Query marks its modules "use client" (for React Server Components); meaningless in an SPA bundle.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
});
