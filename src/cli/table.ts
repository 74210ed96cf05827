/**
 * Boxed tables for the terminal, drawn exactly as cli-table3 draws them (its box characters, one
 * space of padding, columns as wide as their widest line, multi-line cells) but in one pass:
 * cli-table3 lays a table out in time quadratic in its rows, 6.5 s of the 8.6 s `health --all`
 * took over 10,000 links.
 */
import utils from 'cli-table3/src/utils.js';

type Row = ReadonlyArray<string | number>;

interface Line {
  readonly text: string;
  readonly width: number;
}

/** Printable ASCII and the marks the views use (✓ ✗ — • …): one column each. */
const NARROW = /^[\x20-\x7e✓✗—•…]*$/;

/** Columns a line takes in a terminal: its length when every character is narrow, else cli-table3's measure. */
const widthOf = (text: string): number => (NARROW.test(text) ? text.length : utils.strlen(text));

const linesOf = (cell: string | number): Line[] => String(cell).split('\n').map((text) => ({ text, width: widthOf(text) }));

function columnWidths(cells: Line[][][], columns: number): number[] {
  const widths = new Array<number>(columns).fill(0);
  for (const row of cells) {
    for (let i = 0; i < columns; i++) {
      for (const line of row[i] ?? []) widths[i] = Math.max(widths[i]!, line.width);
    }
  }
  return widths;
}

export function table(head: readonly string[], rows: readonly Row[]): string {
  const cells = [head, ...rows].map((row) => row.map(linesOf));
  const widths = columnWidths(cells, head.length);
  const border = (left: string, middle: string, right: string) => left + widths.map((w) => '─'.repeat(w + 2)).join(middle) + right;
  const between = border('├', '┼', '┤');
  const out = [border('┌', '┬', '┐')];
  for (const row of cells) {
    if (out.length > 1) out.push(between);
    const height = Math.max(1, ...row.map((lines) => lines.length));
    for (let k = 0; k < height; k++) {
      let text = '│';
      for (let i = 0; i < widths.length; i++) {
        const line = row[i]?.[k];
        text += line ? ` ${line.text}${' '.repeat(widths[i]! - line.width)} │` : ` ${' '.repeat(widths[i]!)} │`;
      }
      out.push(text);
    }
  }
  out.push(border('└', '┴', '┘'));
  return out.join('\n');
}
