/**
 * The spec check: docs/spec.md and the tests name the same rules. Every rule the spec
 * defines is cited by at least one test title, and every ID a title cites is a rule of
 * the spec. "When a test and the spec disagree, one of them is wrong": this is where
 * the two are held against each other.
 *
 * The titles come from every `*.test.ts`, every `e2e/*.spec.ts`, and the shared suites
 * in test folders that those files run (server/test/store/contract.ts).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { checkSpec, citedIds, describeReport, specRules, testTitles } from '../spec-ids.js';

const root = resolve(__dirname, '..', '..');

/** Test sources: `*.test.ts` anywhere, `e2e/*.spec.ts`, and every `.ts` under a `test` folder. */
function testFiles(): string[] {
  const files: string[] = [];
  for (const top of ['shared', 'server', 'client', 'tools', 'bench', 'e2e']) {
    for (const entry of readdirSync(join(root, top), { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
      const file = relative(root, join(entry.parentPath, entry.name));
      const parts = file.split(sep);
      if (parts.includes('node_modules')) continue;
      const isTest = entry.name.endsWith('.test.ts') || (top === 'e2e' && entry.name.endsWith('.spec.ts')) || parts.includes('test');
      if (isTest) files.push(file);
    }
  }
  return files.sort();
}

describe('the spec check, on small inputs', () => {
  it('reads rule definitions (bold ID opening a list item) and nothing else', () => {
    const md = ['# Rules', '- **L1** seqs run without gaps.', 'See L2 and **L3** in a sentence.', '  * **K12** frames are at most 1 MiB.', '| P4 | a table |'].join('\n');
    expect(specRules(md)).toEqual([
      { id: 'L1', line: 2 },
      { id: 'K12', line: 4 },
    ]);
  });

  it('reads citations: parentheses holding only IDs, anywhere in the title', () => {
    expect(citedIds('acks only after the commit (L2)')).toEqual(['L2']);
    expect(citedIds('two (L2, L3) and one more (P1)')).toEqual(['L2', 'L3', 'P1']);
    expect(citedIds('never throws (fast-check: strings) (S1)')).toEqual(['S1']);
    expect(citedIds('L5: replay from a checkpoint')).toEqual([]);
    expect(citedIds('(L2 and more)')).toEqual([]);
  });

  it('reads titles of it, test, describe and test.describe, template literals and multi-line calls included', () => {
    const src = [
      "describe('suite (P1)', () => {",
      '  it(`${n} sessions converge (U1, L4)`, () => {});',
      '  test.describe("e2e group (O2)", () => {});',
      '  it(',
      "    'written over lines (K3)',",
      '    () => {},',
      '  );',
      "  expect(/x (Z9)/.test('a (Z8)')).toBe(true);",
      "  it(`${'(Q1)'} only the literal parts count`, () => {});",
      '});',
    ].join('\n');
    const titles = testTitles(src, 'x.test.ts');
    expect(titles.map((t) => [t.where, t.ids])).toEqual([
      ['x.test.ts:1', ['P1']],
      ['x.test.ts:2', ['U1', 'L4']],
      ['x.test.ts:3', ['O2']],
      ['x.test.ts:5', ['K3']],
      ['x.test.ts:9', []],
    ]);
  });

  it('reports rules no test cites, citations of rules it lacks, and IDs defined twice', () => {
    const rules = specRules('- **A1** one\n- **A2** two\n- **A1** again\n');
    const titles = testTitles("it('proves A1 (A1)', () => {}); it('cites a ghost (A9)', () => {});", 't.test.ts');
    expect(describeReport(checkSpec(rules, titles))).toEqual([
      'A2 (docs/spec.md:2) is cited by no test title',
      'A9 is cited at t.test.ts:1 but docs/spec.md does not define it',
      'A1 is defined twice in docs/spec.md (again at line 3)',
    ]);
  });
});

describe('docs/spec.md against the tests', () => {
  it('every rule in docs/spec.md is cited by a test title, and every cited ID is a rule of docs/spec.md', () => {
    const rules = specRules(readFileSync(join(root, 'docs', 'spec.md'), 'utf8'));
    expect(rules.length).toBeGreaterThan(0);
    const files = testFiles();
    expect(files).toContain(join('server', 'test', 'store', 'contract.ts'));
    expect(files.some((f) => f.startsWith('e2e') && f.endsWith('.spec.ts'))).toBe(true);
    const titles = files.flatMap((f) => testTitles(readFileSync(join(root, f), 'utf8'), f.split(sep).join('/')));
    const problems = describeReport(checkSpec(rules, titles));
    expect(problems.length, `docs/spec.md and the test titles disagree:\n${problems.join('\n')}`).toBe(0);
  });
});
