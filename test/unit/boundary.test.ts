/**
 * The layering, enforced: chat framework types stay in their surface folders, and the core
 * (directory, sync, store, health, scheduler, notify, ops) knows nothing of chat.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(import.meta.dirname, '..', '..', 'src');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2]!);
}

/** `type X`, or `{ type A, type B }`: the clause of an import that brings no value. */
function typeOnly(clause: string): boolean {
  if (/^type\s/.test(clause)) return true;
  if (!/^\{[^}]*\}$/.test(clause)) return false;
  const names = clause.slice(1, -1).split(',').map((s) => s.trim()).filter(Boolean);
  return names.length > 0 && names.every((s) => s.startsWith('type '));
}

/** Import statements with their clause: a type-only one (`import type …`, every name `type …`) brings no value. */
function importClauses(file: string): Array<{ from: string; typeOnly: boolean }> {
  const text = readFileSync(file, 'utf8');
  const statements = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s+([^'"]*?)\s*from\s+['"]([^'"]+)['"]/g)].map((m) => ({
    from: m[2]!,
    typeOnly: typeOnly(m[1]!.trim()),
  }));
  const dynamic = [...text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => ({ from: m[1]!, typeOnly: false }));
  return [...statements, ...dynamic];
}

const rel = (f: string) => path.relative(SRC, f).split(path.sep).join('/');
const TEAMS_SDK = /^(botbuilder|botframework-|@microsoft\/teams-ai|adaptivecards)/;
const SLACK_SDK = /^@slack\//;
const CORE = /^(domain|directory|sync|store|health|scheduler|notify|ops)\//;

describe('module boundaries', () => {
  const all = files(SRC);

  it('finds the source files', () => {
    expect(all.length).toBeGreaterThan(40);
    expect(all.map(rel)).toContain('chat/teams/bot.ts');
  });

  it('Teams SDK types only under src/chat/teams', () => {
    const offenders = all.filter((f) => !rel(f).startsWith('chat/teams/') && imports(f).some((i) => TEAMS_SDK.test(i))).map(rel);
    expect(offenders).toEqual([]);
  });

  it('Slack SDK types only under src/chat/slack', () => {
    const offenders = all.filter((f) => !rel(f).startsWith('chat/slack/') && imports(f).some((i) => SLACK_SDK.test(i))).map(rel);
    expect(offenders).toEqual([]);
  });

  it('the core imports nothing from chat, http or main', () => {
    const offenders = all
      .filter((f) => CORE.test(rel(f)))
      .flatMap((f) => imports(f).filter((i) => i.startsWith('.') && /(^|\/)(chat|http\.ts|main\.ts)(\/|$)/.test(path.relative(SRC, path.resolve(path.dirname(f), i)))).map((i) => `${rel(f)} → ${i}`));
    expect(offenders).toEqual([]);
  });

  it('SQL only in src/store: nothing else imports drizzle-orm or a value of store/schema.ts', () => {
    const offenders = all
      .filter((f) => !rel(f).startsWith('store/'))
      .flatMap((f) =>
        importClauses(f)
          .filter(({ from, typeOnly }) => /^drizzle-orm(\/|$)/.test(from) || (!typeOnly && from.startsWith('.') && rel(path.resolve(path.dirname(f), from)) === 'store/schema.ts'))
          .map(({ from }) => `${rel(f)} → ${from}`),
      );
    expect(offenders).toEqual([]);
  });

  it('the shared chat layer does not import a surface', () => {
    const offenders = all
      .filter((f) => rel(f).startsWith('chat/') && !/^chat\/(teams|slack)\//.test(rel(f)))
      .flatMap((f) => imports(f).filter((i) => /\/(teams|slack)\//.test(i)).map((i) => `${rel(f)} → ${i}`));
    expect(offenders).toEqual([]);
  });

  it('sync, store and ops use no directory implementation (ldap, ldif, entra): only the port in directory/index.ts', () => {
    const offenders = all
      .filter((f) => /^(sync|store|ops|domain)\//.test(rel(f)))
      .flatMap((f) =>
        imports(f)
          .filter((i) => i.startsWith('.') && /^directory\/(ldap|ldif|entra)\//.test(rel(path.resolve(path.dirname(f), i))))
          .map((i) => `${rel(f)} → ${i}`),
      );
    expect(offenders).toEqual([]);
  });
});
