/**
 * Issue 16 item 6: one punctuation rule for every message a user may read, enforced over the sources so it
 * stays true as messages are added.
 *
 * - API messages — an error's `message`, each `fieldErrors` entry, every schema issue and password-policy
 *   reason — are one sentence with no final period (like tRPC's and zod's own): a client shows them as they
 *   are, next to a field or in a toast, and the link pages add the period when they show one as a sentence.
 * - Page prose (the link pages' intros, success and status texts, the password rules) consists of sentences
 *   that end with a period; titles, labels, buttons and links end with no punctuation.
 * - The error registry's descriptions (`REGSTACK_ERROR_CODES`, documentation) are sentences ending with a period.
 *
 * The API messages are found syntactically: the message argument of every `new RegstackError(…)`, `message` and
 * `error` properties, the values of `MESSAGES` tables, `*_MESSAGE` constants and the strings in `fieldErrors`
 * — in shared/src and in the server's layers that answer requests. A message built at run time is checked on
 * the parts written in the source (the text after its last placeholder).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { linkPageTexts, pageMessageTexts, passwordRules } from '@regstack/server/internal';
import { REGSTACK_ERROR_CODES } from '@regstack/shared';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../..');
/** Where API messages are written: the shared schemas and the server layers that answer requests. */
const SCANNED = [
  'shared/src',
  'server/src/errors',
  'server/src/http',
  'server/src/routers',
  'server/src/security',
  'server/src/services',
  'server/src/trpc',
];

interface Found {
  where: string;
  /** The literal text; `open` when the message continues after it at run time (a placeholder follows). */
  text: string;
  open: boolean;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The literal texts an expression may produce, followed through conditionals, arrow bodies and `+`. */
function leaves(
  node: ts.Expression,
  consts: Map<string, ts.Expression>,
  seen = new Set<string>(),
): Omit<Found, 'where'>[] {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return [{ text: node.text, open: false }];
  if (ts.isTemplateExpression(node)) {
    const last = node.templateSpans.at(-1)?.literal.text ?? '';
    return [{ text: node.head.text + last, open: last === '' }];
  }
  if (ts.isParenthesizedExpression(node) || ts.isAsExpression(node)) return leaves(node.expression, consts, seen);
  if (ts.isConditionalExpression(node)) {
    return [...leaves(node.whenTrue, consts, seen), ...leaves(node.whenFalse, consts, seen)];
  }
  if (ts.isArrowFunction(node) && !ts.isBlock(node.body)) return leaves(node.body, consts, seen);
  if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.PlusToken) {
    const left = leaves(node.left, consts, seen);
    const right = leaves(node.right, consts, seen);
    // Two literal halves are one message; otherwise the end is what the right side writes.
    const [l] = left;
    const [r] = right;
    if (left.length === 1 && right.length === 1 && l && r && !l.open) return [{ text: l.text + r.text, open: r.open }];
    return right.length ? right : left;
  }
  if (ts.isIdentifier(node) && consts.has(node.text) && !seen.has(node.text)) {
    seen.add(node.text);
    return leaves(consts.get(node.text)!, consts, seen);
  }
  return [];
}

function apiMessages(): Found[] {
  const found: Found[] = [];
  for (const file of SCANNED.flatMap((dir) => filesUnder(join(ROOT, dir)))) {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const consts = new Map<string, ts.Expression>();
    const visitConsts = (node: ts.Node) => {
      if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer) {
        consts.set(node.name.text, node.initializer);
      }
      ts.forEachChild(node, visitConsts);
    };
    visitConsts(source);
    const add = (node: ts.Expression) => {
      const { line } = source.getLineAndCharacterOfPosition(node.getStart());
      const where = `${relative(ROOT, file)}:${line + 1}`;
      for (const leaf of leaves(node, consts)) found.push({ where, ...leaf });
    };
    const visit = (node: ts.Node) => {
      if (ts.isNewExpression(node) && node.expression.getText() === 'RegstackError' && node.arguments?.[1]) {
        add(node.arguments[1]);
      }
      if (ts.isPropertyAssignment(node) && ts.isIdentifier(node.name)) {
        const key = node.name.text;
        if (key === 'message' || key === 'error') add(node.initializer);
        if (key === 'fieldErrors' && ts.isObjectLiteralExpression(node.initializer)) {
          for (const field of node.initializer.properties) {
            if (ts.isPropertyAssignment(field) && ts.isArrayLiteralExpression(field.initializer)) {
              for (const element of field.initializer.elements) add(element);
            }
          }
        }
      }
      if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer) {
        const name = node.name.text;
        if (/^[A-Z_]+_MESSAGE$/.test(name)) add(node.initializer);
        let table: ts.Expression = node.initializer;
        while (ts.isAsExpression(table) || ts.isSatisfiesExpression(table)) table = table.expression;
        if (name === 'MESSAGES' && ts.isObjectLiteralExpression(table)) {
          for (const entry of table.properties) if (ts.isPropertyAssignment(entry)) add(entry.initializer);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found;
}

/** A second sentence inside one message: a period, then a space and a capital letter. */
const SECOND_SENTENCE = /[.!?]\s+\p{Lu}/u;

describe('message punctuation (issue 16 item 6)', () => {
  it('API messages are one sentence without a final period', () => {
    const messages = apiMessages().filter((m) => /\p{L}/u.test(m.text));
    // The scan finds the messages it is meant to: a floor, so a broken scan cannot pass by finding nothing.
    expect(messages.length).toBeGreaterThan(80);
    expect(messages.map((m) => m.text)).toEqual(
      expect.arrayContaining(['Invalid email or password', 'Registration is disabled', 'Password is required']),
    );
    const finalPeriod = messages.filter((m) => !m.open && /[.!?]\s*$/.test(m.text)).map((m) => `${m.where} ${m.text}`);
    expect(finalPeriod).toEqual([]);
    const twoSentences = messages.filter((m) => SECOND_SENTENCE.test(m.text)).map((m) => `${m.where} ${m.text}`);
    expect(twoSentences).toEqual([]);
  });

  it('every code of the registry is described in sentences ending with a period', () => {
    const bad = Object.entries(REGSTACK_ERROR_CODES).filter(([, text]) => !/\.$/.test(text));
    expect(bad).toEqual([]);
  });

  it('page prose ends with a period; titles, labels and buttons carry no final punctuation', () => {
    const { prose, labels } = linkPageTexts();
    const rules = passwordRules({ appName: 'Acme', passwordMinLength: 12, passwordMaxLength: 128 });
    const statuses = pageMessageTexts();
    expect(statuses.length).toBeGreaterThan(5);
    for (const text of [...prose, ...rules, ...statuses]) expect(text, text).toMatch(/\.$/);
    for (const text of labels) expect(text, text).not.toMatch(/[.!?:;,]$/);
  });
});
