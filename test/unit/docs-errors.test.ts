/**
 * docs/troubleshooting.md has an entry for every error code the code base defines: the codes of
 * GroupsyncError (src/errors.ts) and every code a run records as its error code. A code added
 * later fails here until it is documented.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, headingsOf, readDoc } from '../support/markdown.ts';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.join(e.parentPath, e.name));
}

/** Every code: the ErrorCode union, codes given to GroupsyncError, and codes runs record. */
function definedCodes(): string[] {
  const errors = readFileSync(path.join(ROOT, 'src/errors.ts'), 'utf8');
  const union = /export type ErrorCode =([^;]+);/.exec(errors)?.[1] ?? '';
  const codes = new Set([...union.matchAll(/'([A-Z][A-Z_]+)'/g)].map((m) => m[1]!));
  for (const file of sourceFiles(path.join(ROOT, 'src'))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:GroupsyncError\(|errorCode:\s*)'([A-Z][A-Z_]+)'/g)) codes.add(m[1]!);
  }
  return [...codes].sort();
}

describe('docs/troubleshooting.md', () => {
  const headings = headingsOf(readDoc('docs/troubleshooting.md')).map((h) => h.text.replace(/`/g, ''));
  const codes = definedCodes();

  it('finds the codes of the code base', () => {
    expect(codes).toEqual(expect.arrayContaining(['CONFIG_INVALID', 'SYNC_WORKER_FAILED', 'THRESHOLD', 'INTERRUPTED', 'WORKER_FAILED']));
  });

  it.each(codes)('has an entry for %s', (code) => {
    expect(headings.some((h) => h.split(/[\s,:]+/).includes(code)), `a heading naming ${code}`).toBe(true);
  });
});
