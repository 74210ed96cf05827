/**
 * The CLI's tables are drawn in one pass by src/cli/table.ts (cli-table3 lays a table out in time
 * quadratic in its rows: seconds for `health --all` over 10,000 links), and look exactly as
 * cli-table3 draws them: same box characters, padding, column widths and multi-line cells.
 */
import Table from 'cli-table3';
import { describe, expect, it } from 'vitest';
import { table } from '../../src/cli/table.ts';

function cliTable3(head: string[], rows: Array<Array<string | number>>): string {
  // No rule between rows (it doubled a table's height): cli-table3's compact style.
  const t = new Table({ head, style: { head: [], border: [], compact: true } });
  for (const r of rows) t.push(r.map((c) => String(c)));
  return t.toString();
}

const CASES: Array<[string, string[], Array<Array<string | number>>]> = [
  ['head only', ['run', 'status'], []],
  ['numbers and text', ['link', 'kind', 'members'], [['✓ app-admins', 'group', 3], ['✗ app-ops', 'security', 12_345]]],
  ['the marks of the views', ['mark'], [['✓ ✗ — • …'], ['•']]],
  ['an empty head cell and empty cells', ['', 'created', 'ignored'], [['groups', 0, ''], ['', '', '—']]],
  ['multi-line cells', ['link', 'reasons'], [['a', 'stale: last sync 3 days ago\nno members'], ['b\nc\nd', '—']]],
  ['wide and combining characters', ['name', 'n'], [['営業部', 1], ['😀 team', 2], ['é (e + U+0301)', 3], ['Zoë Ångström', 4]]],
  ['an escape sequence', ['name'], [['\u001b[31mred\u001b[0m'], ['plain']]],
  ['wider rows than the head', ['a', 'b'], [['a long value here', 'x'], ['y', 'another long value']]],
];

describe('CLI tables', () => {
  it('fits a table into a width by wrapping its widest columns, losing no word', () => {
    const rows = [['1', 'partial', 'a very long error message that goes on and on about what the directory said when it refused the bind', 'corp-with-a-long-name']];
    const text = table(['run', 'status', 'error', 'connection'], rows, 60);
    for (const line of text.split('\n')) expect([...line].length).toBeLessThanOrEqual(60);
    const words = (t: string) => t.replace(/[│┌┐└┘├┤┬┴┼─]/g, ' ').split(/\s+/).filter(Boolean);
    expect(words(text).sort()).toEqual(words(table(['run', 'status', 'error', 'connection'], rows)).sort());
  });


  it.each(CASES)('%s: as cli-table3 draws it', (_, head, rows) => {
    expect(table(head, rows)).toBe(cliTable3(head, rows));
  });

  it('draws a large table as cli-table3 does, every row in order', () => {
    const head = ['link', 'kind', 'members', 'reasons'];
    const rows = Array.from({ length: 2000 }, (_, i) => [`app-g${String(i + 1).padStart(5, '0')}`, 'group', i, i % 7 ? '—' : 'stale\nno members']);
    const text = table(head, rows);
    expect([...text.matchAll(/│ (app-g\d{5}) +│/g)].map((m) => m[1])).toEqual(rows.map((r) => r[0]));
    expect(text).toBe(cliTable3(head, rows));
  });
});
