/**
 * Imported first by the package's entry points (`@regstack/server`, `@regstack/server/internal`): ES modules run
 * their imports in order, so an older Node stops here with a sentence naming Node ≥ 22.17 before any other module
 * of regstack or its dependencies runs (node-version.ts).
 */
import { assertSupportedNode } from './node-version.ts';

assertSupportedNode();
