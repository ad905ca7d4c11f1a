/**
 * Issue 20, "every config key honest": each leaf key of the config schema — enumerated from the schema itself, so a
 * new key fails here until it is covered — has a behavioural proof (a test that sets it and observes its effect) or
 * an explicit PENDING entry with a reason, never both, and every proof points at a test that exists and names the key.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ConfigNode, configTree, type SectionNode } from '@regstack/server/internal';
import { describe, expect, it } from 'vitest';
import { PENDING, PROOFS } from './key-proofs.ts';

const TEST_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const RECORD_NAME = '<name>';

interface Leaf {
  readonly key: string;
  readonly camel: string;
  readonly snake: string;
  readonly envPattern: RegExp;
}

const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function leaves(section: SectionNode): Leaf[] {
  return [...section.bySnake.values()].flatMap((node: ConfigNode): Leaf[] => {
    if (node.type === 'section') return leaves(node);
    if (node.type === 'record') return leaves(node.entry(RECORD_NAME));
    const env = literal(node.envName).replace(literal(RECORD_NAME.toUpperCase()), '[A-Z0-9_]+');
    return [
      {
        key: node.key,
        camel: node.camelPath.at(-1) ?? '',
        snake: node.snakePath.at(-1) ?? '',
        envPattern: new RegExp(env),
      },
    ];
  });
}

const LEAVES = leaves(configTree);

/** Mentions of a key: its camelCase name, its snake_case name, or its REGSTACK_* variable. */
function mentions(text: string, leaf: Leaf): boolean {
  const word = (name: string) => new RegExp(`(?<![A-Za-z0-9_])${literal(name)}(?![A-Za-z0-9_])`).test(text);
  return word(leaf.camel) || word(leaf.snake) || leaf.envPattern.test(text);
}

describe('config key proofs (issue 20)', () => {
  it('enumerates the schema, nested sections and the provider table included', () => {
    const keys = LEAVES.map((leaf) => leaf.key);
    expect(keys).toContain('login_rate_limit');
    expect(keys).toContain('email.smtp_host');
    expect(keys).toContain('sms.twilio_auth_token');
    expect(keys).toContain('oauth.providers.<name>.issuer');
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('every key is proved or pending, never both, and nothing else is listed', () => {
    const keys = new Set(LEAVES.map((leaf) => leaf.key));
    const uncovered = [...keys].filter((key) => !(key in PROOFS) && !(key in PENDING));
    const both = Object.keys(PROOFS).filter((key) => key in PENDING);
    const unknown = [...Object.keys(PROOFS), ...Object.keys(PENDING)].filter((key) => !keys.has(key));
    expect(uncovered, 'keys with neither a proof nor a PENDING entry').toEqual([]);
    expect(both, 'keys both proved and pending').toEqual([]);
    expect(unknown, 'entries for keys the schema does not have').toEqual([]);
    for (const [key, reason] of Object.entries(PENDING)) expect(reason.trim(), key).not.toBe('');
  });

  it('every proof names an existing test in an existing file, and that file mentions the key', () => {
    const stale: string[] = [];
    for (const leaf of LEAVES) {
      const proof = PROOFS[leaf.key];
      if (!proof) continue;
      const path = join(TEST_ROOT, proof.file);
      if (!proof.file.endsWith('.test.ts') || !existsSync(path)) {
        stale.push(`${leaf.key}: no test file ${proof.file}`);
        continue;
      }
      const text = readFileSync(path, 'utf8');
      // `it(`, `it.only(`, `it.skipIf(cond)(` …, then the title on the same line.
      const title = new RegExp(
        `\\b(?:it|test)(?:\\.\\w+(?:\\([^)\\n]*\\))?)?\\(\\s*(['"\`])[^\\n]*${literal(proof.test)}`,
      );
      if (!title.test(text)) stale.push(`${leaf.key}: no test titled "…${proof.test}…" in ${proof.file}`);
      else if (!mentions(text, leaf)) stale.push(`${leaf.key}: ${proof.file} never mentions the key`);
    }
    expect(stale).toEqual([]);
  });

  it('reports the tally', () => {
    const proved = LEAVES.filter((leaf) => leaf.key in PROOFS).length;
    console.info(`config keys: ${LEAVES.length}, proved ${proved}, pending ${LEAVES.length - proved}`);
    expect(proved + Object.keys(PENDING).length).toBe(LEAVES.length);
  });
});
