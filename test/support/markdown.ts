/**
 * Just enough Markdown reading for the documentation tests: headings (with the anchors GitHub
 * gives them), links, and the rows of pipe tables under each heading. Fenced code is skipped.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');

export interface Heading {
  readonly level: number;
  /** The heading's text as written, code spans included. */
  readonly text: string;
  readonly slug: string;
}

export interface Link {
  readonly target: string;
  readonly line: number;
}

export interface TableRow {
  /** The heading the table sits under (its text). */
  readonly section: string;
  readonly cells: readonly string[];
}

export function readDoc(relative: string): string {
  return readFileSync(path.join(ROOT, relative), 'utf8');
}

/** The document's lines outside fenced code blocks, with their 1-based line numbers. */
function proseLines(text: string): Array<{ line: string; number: number }> {
  const out: Array<{ line: string; number: number }> = [];
  let fenced = false;
  text.split('\n').forEach((line, index) => {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    else if (!fenced) out.push({ line, number: index + 1 });
  });
  return out;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
export function slugOf(text: string): string {
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

export function headingsOf(text: string): Heading[] {
  const seen = new Map<string, number>();
  return proseLines(text).flatMap(({ line }) => {
    const match = /^(#{1,6})\s+(.+?)\s*#*\s*$/.exec(line);
    if (!match) return [];
    const base = slugOf(match[2]!);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    return [{ level: match[1]!.length, text: match[2]!, slug: count === 0 ? base : `${base}-${count}` }];
  });
}

/** Inline links and images `[text](target)` and reference definitions `[x]: target`, outside code. */
export function linksOf(text: string): Link[] {
  return proseLines(text).flatMap(({ line, number }) => {
    const withoutCode = line.replace(/`[^`]*`/g, '');
    const inline = [...withoutCode.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
    const reference = /^\s*\[[^\]]+\]:\s*<?(\S+?)>?(\s|$)/.exec(withoutCode)?.[1];
    return [...inline, ...(reference ? [reference] : [])].map((target) => ({ target, line: number }));
  });
}

/** Every row of every pipe table (header and separator rows left out), with its section heading. */
export function tableRowsOf(text: string): TableRow[] {
  const rows: TableRow[] = [];
  let section = '';
  let header = true;
  for (const { line } of proseLines(text)) {
    const heading = /^#{1,6}\s+(.+?)\s*$/.exec(line);
    if (heading) section = heading[1]!;
    if (!/^\s*\|/.test(line)) {
      header = true;
      continue;
    }
    if (/^\s*\|[\s|:-]+\|\s*$/.test(line)) continue; // the separator row
    if (header) {
      header = false;
      continue;
    }
    rows.push({ section, cells: splitRow(line) });
  }
  return rows;
}

/** A table row's cells; `\|` and pipes inside code spans stay in their cell. */
function splitRow(line: string): string[] {
  const cells: string[] = [];
  let current = '';
  let code = false;
  const body = line.trim().replace(/^\|/, '').replace(/\|$/, '');
  for (let i = 0; i < body.length; i++) {
    const ch = body[i]!;
    if (ch === '\\' && body[i + 1] === '|') {
      current += '|';
      i++;
    } else if (ch === '`') {
      code = !code;
      current += ch;
    } else if (ch === '|' && !code) {
      cells.push(current.trim());
      current = '';
    } else current += ch;
  }
  cells.push(current.trim());
  return cells;
}

/** The code spans of a piece of Markdown, in order. */
export function codeSpansOf(text: string): string[] {
  return [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
}
