/**
 * The pages' templating: Preact virtual-DOM nodes rendered to a string by `preact-render-to-string`. Every text child
 * and attribute value is escaped by the renderer, so a reflected value (a user's name, an email address, a
 * configured tagline) can never become markup (R60) — there is no string-built HTML in the pages. Templates are
 * plain `.ts` calling `el()` rather than TSX because the server also runs straight from its sources under Node's
 * type stripping, which does not compile JSX. `el` is `h` typed by tag: an element only takes the attributes its
 * HTML interface declares.
 */
import { type ComponentChildren, h, type JSX, type VNode } from 'preact';
import { renderToStaticMarkup } from 'preact-render-to-string';

export type Child = ComponentChildren;

/** One HTML element with its attributes checked against that element's type. */
export function el<K extends keyof JSX.IntrinsicElements>(
  tag: K,
  props: JSX.IntrinsicElements[K] | null,
  ...children: Child[]
): VNode {
  return h(tag as string, props as Record<string, unknown> | null, ...children);
}

/** A whole document: the doctype, then the rendered tree. */
export function renderDocument(root: VNode): string {
  return `<!doctype html>\n${renderToStaticMarkup(root)}`;
}
