/**
 * Host overrides of the mail templates (`email.templates_dir`). For any kind, any of three files:
 *
 *   <kind>.subject.txt   the subject line (placeholders filled verbatim; CR/LF and control characters removed)
 *   <kind>.txt           the plain-text part (placeholders filled verbatim)
 *   <kind>.html          the HTML part (every value HTML-escaped)
 *
 * A missing file keeps the built-in part. The directory is read once, at startup, and checked: an unknown kind,
 * an unknown `{{placeholder}}` or an unreadable file stops startup with one error listing every problem — a typo
 * in a template should fail the deploy, not the first password reset.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { EmailKind, KindTemplates } from './template-kinds.ts';
import { checkTemplateSource } from './template-language.ts';

export type TemplateOverrides = Partial<Record<EmailKind, Partial<KindTemplates>>>;

/** Thrown at startup when `email.templates_dir` holds something regstack cannot use. */
export class TemplateError extends Error {
  override readonly name = 'TemplateError';
  readonly code = 'EMAIL_TEMPLATE_INVALID';
  /** The directory, resolved. */
  readonly directory: string;
  /** One line per problem, each naming its file. */
  readonly problems: readonly string[];
  constructor(directory: string, problems: readonly string[]) {
    super(`email.templates_dir ${directory} cannot be used:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.directory = directory;
    this.problems = problems;
  }
}

const PART_OF_SUFFIX = [
  ['.subject.txt', 'subject'],
  ['.txt', 'text'],
  ['.html', 'html'],
] as const;

/** Reads and checks every override in `directory` against each kind's variable list. */
export function loadTemplateOverrides(
  directory: string,
  variables: Readonly<Record<EmailKind, readonly string[]>>,
): TemplateOverrides {
  const dir = resolve(directory);
  const problems: string[] = [];
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
    names = readdirSync(dir).sort();
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new TemplateError(dir, [`cannot read the directory (${reason})`]);
  }
  const kinds = Object.keys(variables) as EmailKind[];
  const overrides: TemplateOverrides = {};
  for (const file of names) {
    const suffix = PART_OF_SUFFIX.find(([end]) => file.endsWith(end));
    // Other files (a README, a stylesheet the HTML does not load) are the host's business.
    if (!suffix) continue;
    const [end, part] = suffix;
    const kind = file.slice(0, -end.length) as EmailKind;
    if (!kinds.includes(kind)) {
      problems.push(`${file}: no mail kind "${kind}" (kinds: ${kinds.join(', ')})`);
      continue;
    }
    let source: string;
    try {
      source = readFileSync(join(dir, file), 'utf8');
    } catch (err) {
      problems.push(`${file}: cannot be read (${err instanceof Error ? err.message : String(err)})`);
      continue;
    }
    const allowed = variables[kind];
    for (const problem of checkTemplateSource(source, allowed)) {
      problems.push(`${file}: ${problem} (variables of ${kind}: ${allowed.join(', ')})`);
    }
    // A subject file ends with the editor's newline; the subject is one line anyway.
    const value = part === 'subject' ? source.trim() : source;
    if (part === 'subject' && value === '') problems.push(`${file}: the subject is empty`);
    overrides[kind] = { ...overrides[kind], [part]: value };
  }
  if (problems.length > 0) throw new TemplateError(dir, problems);
  return overrides;
}
