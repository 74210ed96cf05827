/**
 * docs/configuration.md against the zod schemas of src/config/schema.ts (exported by src/config.ts): every field of the config file
 * (per connection kind, and `chat`) and every environment variable has a row in a table of the
 * reference, the default written there is the schema's, a field without a default is marked
 * "required" when it is, and no row names a field that does not exist. A field added to the
 * schema fails here until it is documented.
 *
 * Tables are `| field | type | default | meaning |`. Connection fields are written relative to the
 * connection (`tls.caFile`) under a heading naming the kind (`kind: ldap`) or "every connection";
 * the others by their full path (`chat.admins.teams`); environment variables under a heading
 * with "Environment".
 */
import ms from 'ms';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { configFileSchema, envSchema, parseConfigDocument } from '../../src/config.ts';
import { ROOT, codeSpansOf, readDoc, tableRowsOf } from '../support/markdown.ts';

type Scope = 'ldap' | 'ldif' | 'entra' | 'file' | 'env';

interface Field {
  readonly scope: Scope;
  readonly path: string;
  readonly hasDefault: boolean;
  readonly defaultValue: unknown;
  readonly required: boolean;
  readonly duration: boolean;
}

// zod v4 keeps a schema's definition in `_zod.def`; only the parts walked here are typed.
interface Def {
  readonly type: string;
  readonly innerType?: z.ZodType;
  readonly defaultValue?: unknown;
  readonly in?: z.ZodType;
  readonly out?: z.ZodType;
  readonly shape?: Record<string, z.ZodType>;
  readonly element?: z.ZodType;
  readonly options?: readonly z.ZodType[];
  readonly values?: readonly unknown[];
}
const def = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** Strips optional/default/nullable/pipe wrappers, noting what they say. */
function unwrap(schema: z.ZodType) {
  let current = schema;
  let optional = false;
  let hasDefault = false;
  let defaultValue: unknown;
  let duration = false;
  for (;;) {
    const d = def(current);
    if (d.type === 'optional' || d.type === 'nullable') optional = true;
    else if (d.type === 'default' || d.type === 'prefault') {
      if (!hasDefault) [hasDefault, defaultValue] = [true, d.defaultValue];
    } else if (d.type === 'pipe' && def(d.in!).type === 'string' && def(d.out!).type === 'transform') {
      duration = true;
      break;
    } else if (d.type === 'pipe') {
      current = d.in!;
      continue;
    } else break;
    current = d.innerType!;
  }
  return { inner: current, optional, hasDefault, defaultValue, duration };
}

function walk(schema: z.ZodType, scope: Scope, prefix: string, out: Field[]): void {
  for (const [key, child] of Object.entries(def(schema).shape ?? {})) {
    const path = `${prefix}${key}`;
    const u = unwrap(child);
    out.push({ scope, path, hasDefault: u.hasDefault, defaultValue: u.defaultValue, required: !u.optional && !u.hasDefault, duration: u.duration });
    if (u.duration) continue;
    const d = def(u.inner);
    if (d.type === 'object') walk(u.inner, scope, `${path}.`, out);
    if (d.type === 'array' && def(unwrap(d.element!).inner).type === 'object') walk(unwrap(d.element!).inner, scope, `${path}[].`, out);
  }
}

function schemaFields(): Field[] {
  const fields: Field[] = [];
  const top = def(configFileSchema).shape!;
  for (const [key, child] of Object.entries(top)) {
    const u = unwrap(child);
    fields.push({ scope: 'file', path: key, hasDefault: u.hasDefault, defaultValue: u.defaultValue, required: false, duration: false });
  }
  walk(unwrap(top.chat!).inner, 'file', 'chat.', fields);
  const union = unwrap(def(unwrap(top.connections!).inner).element!).inner;
  for (const option of def(union).options!) {
    walk(option, String(def(def(option).shape!.kind!).values![0]) as Scope, '', fields);
  }
  walk(envSchema, 'env', '', fields);
  return fields;
}

/** Which schema scopes a table under this heading documents. */
function scopesOf(section: string): Scope[] {
  if (/environment/i.test(section)) return ['env'];
  if (/every connection/i.test(section)) return ['ldap', 'ldif', 'entra'];
  const kind = /`kind: (ldap|ldif|entra)`/.exec(section)?.[1] as Scope | undefined;
  return kind ? [kind] : ['file'];
}

interface DocRow {
  readonly scopes: Scope[];
  readonly path: string;
  readonly defaultCell: string;
}

function docRows(): DocRow[] {
  return tableRowsOf(readDoc('docs/configuration.md'))
    .filter((r) => r.cells.length >= 4 && codeSpansOf(r.cells[0]!).length > 0)
    .map((r) => ({ scopes: scopesOf(r.section), path: codeSpansOf(r.cells[0]!)[0]!, defaultCell: r.cells[2]! }));
}

/** Whether the default written in the cell is the schema's; objects are described in their fields' rows. */
function sameDefault(field: Field, cell: string): boolean {
  const written = codeSpansOf(cell)[0];
  const value = field.defaultValue;
  if (!field.hasDefault) return written === undefined && (!field.required || /required/i.test(cell));
  if (written === undefined) return false;
  if (field.duration) return ms(written as ms.StringValue) === value;
  if (Array.isArray(value)) return value.length === 0 && written === '[]';
  if (typeof value === 'object' && value !== null) return true;
  if (typeof value === 'number') return Number(written) === value;
  return written === String(value) || written === JSON.stringify(value);
}

describe('docs/configuration.md', () => {
  const fields = schemaFields();
  const rows = docRows();

  it('walks the whole schema', () => {
    const paths = fields.map((f) => `${f.scope}:${f.path}`);
    expect(paths).toEqual(expect.arrayContaining(['ldap:deletionThreshold.memberships.maxCount', 'entra:certificate.pemEnv', 'file:chat.admins.directoryGroups[].group', 'env:DATABASE_URL', 'ldap:fullReadEvery']));
  });

  it.each(fields.map((f) => [`${f.scope}: ${f.path}`, f] as const))('documents %s with its default', (_label, field) => {
    const row = rows.find((r) => r.path === field.path && r.scopes.includes(field.scope));
    expect(row, `a row for ${field.path} under a heading for ${field.scope}`).toBeDefined();
    expect(sameDefault(field, row!.defaultCell), `default of ${field.path}: schema ${JSON.stringify(field.defaultValue)}, documented "${row!.defaultCell}"`).toBe(true);
  });

  it('documents no field the schema does not have', () => {
    const stray = rows.filter((r) => !r.scopes.every((scope) => fields.some((f) => f.scope === scope && f.path === r.path)));
    expect(stray.map((r) => `${r.scopes.join('/')}: ${r.path}`)).toEqual([]);
  });

  it("README's minimal config example is a valid config file", () => {
    const yaml = /```yaml\n([\s\S]*?)```/.exec(readDoc('README.md'))?.[1];
    expect(yaml).toBeDefined();
    const parsed = parseConfigDocument(parseYaml(yaml!), { CORP_LDAP_PASSWORD: 'secret' }, 'README.md', ROOT);
    expect(parsed.connections.length).toBeGreaterThan(0);
  });
});
