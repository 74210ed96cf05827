/**
 * Boxed tables for the terminal, drawn exactly as cli-table3 draws them in its compact style (its
 * box characters, one space of padding, columns as wide as their widest line, multi-line cells, a
 * rule under the head and none between rows) but in one pass:
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

/** The narrowest a column is made to fit a table into a width. */
const MIN_COLUMN = 6;

/** Column widths within `maxWidth` columns of terminal: the widest column gives way first. */
function fitWidths(widths: number[], maxWidth: number): number[] {
  const fitted = [...widths];
  const budget = maxWidth - (3 * fitted.length + 1);
  for (let over = fitted.reduce((a, b) => a + b, 0) - budget; over > 0; ) {
    const widest = fitted.indexOf(Math.max(...fitted));
    const next = Math.max(MIN_COLUMN, ...fitted.filter((_, i) => i !== widest));
    const cut = Math.min(over, fitted[widest]! - next, fitted[widest]! - MIN_COLUMN) || Math.min(over, fitted[widest]! - MIN_COLUMN);
    if (cut <= 0) break;
    fitted[widest] = fitted[widest]! - cut;
    over -= cut;
  }
  return fitted;
}

/** A line cut into lines of at most `width` columns, at spaces where it can be. */
export function wrapLine(text: string, width: number): string[] {
  if (widthOf(text) <= width) return [text];
  const out: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    const candidate = line ? `${line} ${word}` : word;
    if (widthOf(candidate) <= width) {
      line = candidate;
      continue;
    }
    if (line) out.push(line);
    let rest = word;
    while (widthOf(rest) > width) {
      const chars = [...rest];
      let k = width;
      while (k > 1 && widthOf(chars.slice(0, k).join('')) > width) k--;
      out.push(chars.slice(0, k).join(''));
      rest = chars.slice(k).join('');
    }
    line = rest;
  }
  if (line) out.push(line);
  return out;
}

const rewrap = (lines: Line[], width: number): Line[] =>
  lines.every((l) => l.width <= width) ? lines : lines.flatMap((l) => (l.width <= width ? [l] : wrapLine(l.text, width).map((text) => ({ text, width: widthOf(text) }))));

/**
 * A boxed table: a rule under the head, none between rows (cli-table3's compact style). With
 * `maxWidth`, the widest columns are narrowed and their cells wrapped until the table fits.
 */
export function table(head: readonly string[], rows: readonly Row[], maxWidth?: number): string {
  let cells = [head, ...rows].map((row) => row.map(linesOf));
  let widths = columnWidths(cells, head.length);
  if (maxWidth !== undefined) {
    const fitted = fitWidths(widths, maxWidth);
    if (fitted.some((w, i) => w < widths[i]!)) {
      cells = cells.map((row) => row.map((lines, i) => rewrap(lines, fitted[i]!)));
      widths = columnWidths(cells, head.length);
    }
  }
  const border = (left: string, middle: string, right: string) => left + widths.map((w) => '─'.repeat(w + 2)).join(middle) + right;
  const out = [border('┌', '┬', '┐')];
  for (const [r, row] of cells.entries()) {
    if (r === 1) out.push(border('├', '┼', '┤'));
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
