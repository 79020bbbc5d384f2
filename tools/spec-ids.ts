/**
 * The spec check's two readers: the rule IDs that docs/spec.md defines, and the IDs that
 * test titles cite.
 *
 * docs/spec.md defines a rule with a list item that opens with its ID in bold,
 * `- **P3** …`; an ID is capital letters and a number (L1, U3, K12). Any other mention of
 * an ID in the spec (in a sentence, a table) refers to a rule and defines nothing, so a
 * typo there cannot invent a rule.
 *
 * A test cites rules in its title, in parentheses holding only IDs: `(L2)`, `(L2, L3)`.
 * Titles are read with the TypeScript parser, not with a regular expression over lines,
 * so a title built from a template literal (`${SEEDS} sessions … (U1)`), written over
 * several lines, or passed to `test.describe` counts like any other; IDs inside a
 * template's `${…}` are code, not citations. A parenthesis that holds anything else
 * ("(fast-check: strings)", "(SIGKILL)") is prose and cites nothing.
 */
import ts from 'typescript';

/** A rule ID as docs/spec.md writes it. */
const ID = '[A-Z]{1,2}[0-9]{1,3}';
const DEFINITION = new RegExp(`^\\s*[-*]\\s+\\*\\*(${ID})\\*\\*`, 'gm');
const CITATION = new RegExp(`\\((${ID}(?:\\s*,\\s*${ID})*)\\)`, 'g');

/** One rule definition in the spec: its ID and the line it is on (1-based). */
export interface SpecRule {
  readonly id: string;
  readonly line: number;
}

/** Every rule the spec defines, in order, duplicates included (the check reports them). */
export function specRules(markdown: string): SpecRule[] {
  const rules: SpecRule[] = [];
  for (const m of markdown.matchAll(DEFINITION)) {
    rules.push({ id: m[1], line: markdown.slice(0, m.index).split('\n').length });
  }
  return rules;
}

/** One test title and the IDs it cites; `where` is `file:line`. */
export interface TestTitle {
  readonly where: string;
  readonly title: string;
  readonly ids: readonly string[];
}

/** The IDs a title cites: every parenthesised group made only of IDs, in order. */
export function citedIds(title: string): string[] {
  const ids: string[] = [];
  for (const m of title.matchAll(CITATION)) ids.push(...m[1].split(',').map((s) => s.trim()));
  return ids;
}

const TITLED = new Set(['it', 'test', 'describe']);

/** `it(…)`, `test.describe(…)`, `it.each(…)(…)`'s callee named by its first word. */
function isTitledCall(callee: ts.Expression): boolean {
  let e: ts.Expression = callee;
  while (ts.isPropertyAccessExpression(e) || ts.isCallExpression(e)) e = e.expression;
  return ts.isIdentifier(e) && TITLED.has(e.text);
}

/** The literal text of a title argument; a template's substitutions become `…`. */
function titleText(arg: ts.Expression): string | null {
  if (ts.isStringLiteral(arg) || ts.isNoSubstitutionTemplateLiteral(arg)) return arg.text;
  if (ts.isTemplateExpression(arg)) return arg.head.text + arg.templateSpans.map((s) => `…${s.literal.text}`).join('');
  return null;
}

/** Every titled test, suite or describe block in one source file, with its citations. */
export function testTitles(source: string, file: string): TestTitle[] {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: TestTitle[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && node.arguments.length > 0 && isTitledCall(node.expression)) {
      const title = titleText(node.arguments[0]);
      if (title !== null) {
        const line = sf.getLineAndCharacterOfPosition(node.arguments[0].getStart(sf)).line + 1;
        out.push({ where: `${file}:${line}`, title, ids: citedIds(title) });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** What the check found: rules no test cites, citations of rules the spec lacks, IDs defined twice. */
export interface SpecReport {
  readonly uncited: readonly SpecRule[];
  readonly unknown: readonly { readonly id: string; readonly where: string }[];
  readonly duplicates: readonly SpecRule[];
}

/** Compares the spec's rules with the tests' citations. */
export function checkSpec(rules: readonly SpecRule[], titles: readonly TestTitle[]): SpecReport {
  const defined = new Set<string>();
  const duplicates: SpecRule[] = [];
  for (const r of rules) {
    if (defined.has(r.id)) duplicates.push(r);
    defined.add(r.id);
  }
  const cited = new Set(titles.flatMap((t) => t.ids));
  const unknown = titles.flatMap((t) => t.ids.filter((id) => !defined.has(id)).map((id) => ({ id, where: t.where })));
  const uncited = rules.filter((r, i) => !cited.has(r.id) && rules.findIndex((q) => q.id === r.id) === i);
  return { uncited, unknown, duplicates };
}

/** The report as the lines a failing check prints; empty when spec and tests agree. */
export function describeReport(report: SpecReport): string[] {
  const lines: string[] = [];
  for (const r of report.uncited) lines.push(`${r.id} (docs/spec.md:${r.line}) is cited by no test title`);
  for (const u of report.unknown) lines.push(`${u.id} is cited at ${u.where} but docs/spec.md does not define it`);
  for (const d of report.duplicates) lines.push(`${d.id} is defined twice in docs/spec.md (again at line ${d.line})`);
  return lines;
}
