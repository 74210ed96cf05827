// package.json conventions: one of each key, the Node it needs, and `dependencies` holding exactly
// what the product (src/, bin/) loads at run time, so `npm ci --omit=dev` gives a runnable product
// (the container image is built that way).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';

const ROOT = join(import.meta.dirname, '..', '..');
const TEXT = readFileSync(join(ROOT, 'package.json'), 'utf8');
const PKG = JSON.parse(TEXT) as {
  engines?: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  overrides?: Record<string, unknown>;
  '//'?: string | string[];
};

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.(ts|mts|mjs|js)$/.test(f) && !f.endsWith('.d.ts') && !f.includes('node_modules'))
    .map((f) => join(ROOT, dir, f));
}

/** The packages a file loads at run time: `import type` is erased, every other import is kept. */
function runtimePackages(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [
    ...[...text.matchAll(/(?:^|\n)\s*(?:import|export)\s+(?!type\s)[^'";]*?from\s+['"]([^'"]+)['"]/g)].map((m) => m[1]!),
    ...[...text.matchAll(/(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g)].map((m) => m[1]!),
    ...[...text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]!),
  ];
  return specifiers.filter((s) => !s.startsWith('.') && !s.startsWith('node:') && !s.startsWith('#')).map((s) => s.split('/').slice(0, s.startsWith('@') ? 2 : 1).join('/'));
}

const used = (dirs: string[]) => new Set(dirs.flatMap(sourceFiles).flatMap(runtimePackages));

describe('package.json', () => {
  it('names every key once', () => {
    // JSON.parse keeps the last of two equal keys silently; YAML (a superset of JSON) reports them.
    expect(parseDocument(TEXT, { uniqueKeys: true }).errors.map((e) => e.message)).toEqual([]);
  });

  it('asks for Node 24, the Node the project brings', () => {
    expect(PKG.engines).toEqual({ node: '>=24' });
    expect(PKG.devDependencies.node).toMatch(/^\^24\./);
  });

  it('lists in dependencies every package src/ and bin/ load', () => {
    const missing = [...used(['src', 'bin'])].filter((p) => !(p in PKG.dependencies)).sort();
    expect(missing).toEqual([]);
  });

  it('keeps packages only tests and tooling load in devDependencies', () => {
    const product = used(['src', 'bin']);
    const toolingOnly = [...used(['test', 'bench', 'manifest'])].filter((p) => p in PKG.dependencies && !product.has(p)).sort();
    expect(toolingOnly).toEqual([]);
  });

  it("lists in dependencies every tool a run-time dependency's install script runs through npx (npm may refuse to fetch it: `yes = false`, offline)", () => {
    const lock = JSON.parse(readFileSync(new URL('../../package-lock.json', import.meta.url), 'utf8')) as { packages: Record<string, { dev?: boolean; devOptional?: boolean; hasInstallScript?: boolean }> };
    const tools = new Map<string, string>();
    for (const [where, entry] of Object.entries(lock.packages)) {
      if (!where || entry.dev || entry.devOptional || !entry.hasInstallScript) continue;
      const file = new URL(`../../${where}/package.json`, import.meta.url);
      if (!existsSync(file)) continue; // an optional package of another platform
      const manifest = JSON.parse(readFileSync(file, 'utf8')) as { scripts?: Record<string, string> };
      const scripts = Object.values(manifest.scripts ?? {}).join('\n');
      for (const m of scripts.matchAll(/\bnpx\s+(?:-\S+\s+)*((?:@[\w.-]+\/)?[\w.-]+)/g)) tools.set(m[1]!, where);
    }
    const missing = [...tools].filter(([tool]) => !(tool in PKG.dependencies)).map(([tool, where]) => `${tool} (run by ${where})`);
    expect(missing).toEqual([]);
    const notes = [PKG['//'] ?? []].flat().join('\n');
    for (const tool of tools.keys()) expect(notes).toMatch(new RegExp(`dependencies\\.${tool}: `));
  });

  it('says why each override is there', () => {
    const notes = [PKG['//'] ?? []].flat().join('\n');
    for (const name of Object.keys(PKG.overrides ?? {})) expect(notes).toMatch(new RegExp(`overrides\\.${name}: `));
  });
});
