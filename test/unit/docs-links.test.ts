/**
 * The documentation links only into the repository: every relative link in README.md and
 * docs/*.md names a file (or folder) that exists, a `#anchor` names a heading of its target, and
 * nothing links to a web page or to a path above the repository root.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, headingsOf, linksOf, readDoc } from '../support/markdown.ts';

const DOCS = ['README.md', ...(existsSync(path.join(ROOT, 'docs')) ? readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`) : [])];

/** What is wrong with one link of `doc`, or null. */
function problemOf(doc: string, target: string): string | null {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) return 'links outside the repository (the documentation links only its own files)';
  const [file = '', anchor] = target.split('#', 2) as [string, string | undefined];
  const resolved = file === '' ? path.join(ROOT, doc) : path.resolve(ROOT, path.dirname(doc), decodeURIComponent(file));
  const relative = path.relative(ROOT, resolved);
  if (relative.startsWith('..') || path.isAbsolute(relative)) return 'goes above the repository root';
  if (!existsSync(resolved)) return `${relative} does not exist`;
  if (anchor !== undefined && resolved.endsWith('.md') && statSync(resolved).isFile()) {
    const slugs = headingsOf(readDoc(relative)).map((h) => h.slug);
    if (!slugs.includes(anchor)) return `${relative} has no heading with the anchor #${anchor}`;
  }
  return null;
}

describe('documentation links', () => {
  it('has the documents the README points into', () => {
    for (const doc of ['docs/behaviour.md', 'docs/chat.md', 'docs/configuration.md', 'docs/operations.md', 'docs/troubleshooting.md']) {
      expect(existsSync(path.join(ROOT, doc)), `${doc} exists`).toBe(true);
      expect(linksOf(readDoc('README.md')).some((l) => l.target.split('#')[0] === doc), `README.md links ${doc}`).toBe(true);
    }
  });

  it.each(DOCS)('%s links only files and headings of the repository', (doc) => {
    const problems = linksOf(readDoc(doc)).flatMap(({ target, line }) => {
      const problem = problemOf(doc, target);
      return problem ? [`${doc}:${line}: ${target}: ${problem}`] : [];
    });
    expect(problems).toEqual([]);
  });

  it.each(DOCS)('%s names no file outside the repository', (doc) => {
    expect(readDoc(doc)).not.toMatch(/\.\.\/shared|DESIGN\.md/);
  });

  it('reads links, anchors and what goes outside as a reader would', () => {
    expect(problemOf('docs/x.md', '../README.md')).toBeNull();
    expect(problemOf('docs/x.md', '../../elsewhere.md')).toBe('goes above the repository root');
    expect(problemOf('README.md', 'https://example.com/')).toMatch(/outside the repository/);
    expect(problemOf('README.md', 'docs/nothing-here.md')).toBe('docs/nothing-here.md does not exist');
    expect(problemOf('README.md', '#no-such-heading')).toBe('README.md has no heading with the anchor #no-such-heading');
    expect(problemOf('README.md', 'src/')).toBeNull();
  });
});
