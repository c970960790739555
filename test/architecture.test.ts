/**
 * The structure the README describes is the structure the code has: its stream,
 * process and transition tables match the code's own tables; no two exported symbols
 * share a name; the workflow imports only its contract, the SDK and domain code; and
 * comments do not send a reader to documents outside the repository. (Import
 * directions and cycles are checked by dependency-cruiser, clones by jscpd, both in
 * `npm test`.)
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import ts from 'typescript';
import { TRANSITIONS } from '../domain/order';
import { STREAMS } from '../events/streams';
import { PROCESSES } from '../scripts/processes';

const ROOT = join(__dirname, '..');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The rows of the README table whose header row starts with `header`, as cells without backticks. */
function readmeTable(header: string): string[][] {
  const lines = readme.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`| ${header} |`));
  if (start < 0) throw new Error(`README has no table starting with "| ${header} |"`);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .slice(1, -1)
        .split(' | ')
        .map((c) => c.trim().replace(/`/g, '')),
    );
  }
  return rows;
}

/** Source files (not tests), as git lists them. */
function sourceFiles(): string[] {
  const out = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.ts'], { cwd: ROOT, encoding: 'utf8' });
  return [...new Set(out.split('\n').filter((f) => f && !f.startsWith('test/')))];
}

describe('architecture', () => {
  it("the README's stream table is the code's stream table", () => {
    const rows = readmeTable('stream').map(([name, subjects]) => ({ name, subjects }));
    expect(rows).toEqual(Object.values(STREAMS).map((s) => ({ name: s.name, subjects: s.layout })));
  });

  it("the README's process table is the list npm start runs", () => {
    const rows = readmeTable('process').map(([name, main]) => ({ name, main }));
    expect(rows).toEqual(PROCESSES.map((p) => ({ name: p.name, main: p.main })));
  });

  it("the README's transition table is domain/order.ts's", () => {
    const fromReadme: Record<string, string[]> = {};
    for (const [from, to] of readmeTable('from')) {
      for (const f of from.split(', ')) fromReadme[f] = to === 'terminal' ? [] : to.split(', ');
    }
    expect(fromReadme).toEqual(TRANSITIONS);
  });

  it('no two exported symbols share a name', () => {
    const files = sourceFiles().map((f) => join(ROOT, f));
    const program = ts.createProgram(files, { noEmit: true, allowJs: false, skipLibCheck: true });
    const checker = program.getTypeChecker();
    const owners = new Map<string, string[]>();
    for (const file of files) {
      const module = checker.getSymbolAtLocation(program.getSourceFile(file) as ts.SourceFile);
      for (const symbol of module ? checker.getExportsOfModule(module) : []) {
        if (symbol.flags & ts.SymbolFlags.Alias) continue; // a re-export names the original
        owners.set(symbol.name, [...(owners.get(symbol.name) ?? []), file.slice(ROOT.length + 1)]);
      }
    }
    expect([...owners].filter(([, where]) => where.length > 1)).toEqual([]);
  });

  it('the workflow imports only its contract, the workflow SDK and domain code', () => {
    const source = readFileSync(join(ROOT, 'workflows/order/workflow.ts'), 'utf8');
    const imports = [...source.matchAll(/from '([^']+)'/g)].map((m) => m[1]);
    expect(imports.filter((i) => i !== './definitions' && i !== '@temporalio/workflow' && !i.startsWith('../../domain/'))).toEqual([]);
  });

  it('comments do not point outside the repository', () => {
    const offenders = sourceFiles().filter((f) => /\bshared\/|\bseeds?\s+\d{3}\b|\.\.\/shared/.test(readFileSync(join(ROOT, f), 'utf8')));
    expect(offenders).toEqual([]);
  });
});
