/**
 * The mail template language, all of it: `{{name}}` (spaces inside the braces allowed) is replaced by the value
 * of `name`. No logic, no partials, no raw output — a template cannot do anything but place documented values,
 * and the caller decides how each value is encoded for the part it lands in (HTML-escaped for the HTML part).
 */

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

/** The problems of one template source: names outside `allowed`, or a `{{` that opens no placeholder. */
export function checkTemplateSource(source: string, allowed: readonly string[]): string[] {
  const problems: string[] = [];
  for (const match of source.matchAll(PLACEHOLDER)) {
    const name = match[1] ?? '';
    if (!allowed.includes(name)) problems.push(`unknown placeholder {{${name}}}`);
  }
  if (source.replace(PLACEHOLDER, '').includes('{{')) problems.push('a "{{" that does not form a {{placeholder}}');
  return [...new Set(problems)];
}

/** Every placeholder name used in `source`, in order of first use. */
export function placeholdersOf(source: string): string[] {
  return [...new Set([...source.matchAll(PLACEHOLDER)].map((m) => m[1] ?? ''))];
}

/**
 * Replaces each placeholder with `encode(value)`. Sources are checked before they are used (built-ins by the test
 * suite, overrides at startup), so every name resolves; an unknown one would render as empty, never as itself.
 */
export function fillTemplate(
  source: string,
  values: Readonly<Record<string, string>>,
  encode: (value: string) => string,
): string {
  return source.replace(PLACEHOLDER, (_match, name: string) => encode(values[name] ?? ''));
}
