import { describe, expect, it } from 'vitest';
import { Reader, Writer } from '../../src/directory/ldap/codec.ts';
import { answer, expandGroup, viewOf } from '../../src/directory/ldap/read/expand.ts';
import { DANGLING, GROUP, INVALID, LINKED_BY_FILTER, ScopeGraph, UNKNOWN, USER } from '../../src/directory/ldap/read/graph.ts';
import { decodeSnapshot, encodeSnapshot } from '../../src/directory/ldap/snapshot.ts';
import { snapshotIndex } from '../../src/domain/snapshot-index.ts';
import type { DirectorySnapshot } from '../../src/domain/types.ts';

/** users u1..u3, groups a (linked) → b → c → a (a cycle), a dangling and a non-DN member value. */
function sample(): ScopeGraph {
  const g = new ScopeGraph();
  const user = (uid: string) => {
    const n = g.internMember(`uid=${uid},dc=x`);
    g.nodeKind[n] = USER;
    g.users.set(n, { id: uid, dn: `uid=${uid},dc=x`, login: uid, mail: null, displayName: null, enabled: true });
    g.nodeId.set(n, uid);
    return n;
  };
  const [u3, u1, u2] = [user('u3'), user('u1'), user('u2')];
  const group = (cn: string, members: number[]) => {
    const n = g.intern(`cn=${cn},dc=x`)!;
    g.nodeKind[n] = GROUP;
    g.groups.set(n, { id: `id-${cn}`, dn: `cn=${cn},dc=x`, name: cn, description: null, members });
    g.nodeId.set(n, `id-${cn}`);
    return n;
  };
  const a = g.intern('cn=a,dc=x')!;
  const b = g.intern('cn=b,dc=x')!;
  const c = g.intern('cn=c,dc=x')!;
  const gone = g.internMember('uid=gone,dc=x');
  g.nodeKind[gone] = DANGLING;
  group('a', [u3, b, gone, g.internMember('not a dn')]);
  group('b', [c, u1]);
  group('c', [a, u2, u3]);
  g.link(a, LINKED_BY_FILTER);
  g.link(c, LINKED_BY_FILTER);
  return g;
}

describe('the intern step', () => {
  it.each([
    ['the same DN however spelled is one node', ['uid=A,DC=x', 'UID=a, dc=X'], 1],
    ['different DNs are different nodes', ['uid=a,dc=x', 'uid=b,dc=x'], 2],
    ['a value that is not a DN is a node of its own', ['not a dn', 'uid=a,dc=x'], 2],
  ])('%s', (_name, values, nodes) => {
    const g = new ScopeGraph();
    for (const v of values) g.internMember(v);
    expect(g.size).toBe(nodes);
    expect(g.nodeKind.filter((k) => k === INVALID).length).toBe(values.filter((v) => !v.includes('=')).length);
    expect(g.pending().length).toBe(g.nodeKind.filter((k) => k === UNKNOWN).length);
  });
});

describe('the expand step', () => {
  it.each([
    ['a', ['u3', 'u1', 'u2']],
    ['b', ['u1', 'u2', 'u3']],
  ])('expands %s through nested groups and a cycle, each user once', (cn, ids) => {
    const g = sample();
    const node = g.nodeIndex.get(`cn=${cn},dc=x`)!;
    expect(expandGroup(viewOf(g), node).map((n) => g.users.get(n)!.id).sort()).toEqual([...ids].sort());
  });

  it('answers in one order: groups, users and members by id; unresolved member values listed', () => {
    const got = answer(sample());
    expect(got.groups.map((x) => [x.name, x.memberIds])).toEqual([['a', ['u1', 'u2', 'u3']], ['c', ['u1', 'u2', 'u3']]]);
    expect(got.users.map((u) => u.id)).toEqual(['u1', 'u2', 'u3']);
    expect(got.skipped.map((s) => s.reason)).toEqual([
      'member "uid=gone,dc=x" names no entry (dangling); left out of the group',
      expect.stringMatching(/^member "not a dn" is not a DN/),
    ]);
  });
});

describe('the member numbers the answer gives the plan', () => {
  const snapshotOf = (read: ReturnType<typeof answer>): DirectorySnapshot => ({ vendor: 'openldap', certificate: null, ...read });
  const twin = () => {
    // A second entry with u1's id (read twice, or two entries sharing an id): numbered by the first record.
    const g = sample();
    const n = g.internMember('uid=u1bis,dc=x');
    g.nodeKind[n] = USER;
    g.users.set(n, { id: 'u1', dn: 'uid=u1bis,dc=x', login: 'u1bis', mail: null, displayName: null, enabled: true });
    g.groups.get(g.nodeIndex.get('cn=c,dc=x')!)!.members.push(n);
    return g;
  };

  it.each([
    ['nested groups, a cycle, a dangling and a non-DN member', sample],
    ['one user id held by two entries', twin],
  ])('%s: the numbers snapshotIndex would build, given with the arrays of the answer', (_name, graphOf) => {
    const read = answer(graphOf());
    const given = snapshotIndex(snapshotOf(read));
    // A copy with its own groups array is numbered by looking every member id up.
    const built = snapshotIndex({ ...snapshotOf(read), groups: [...read.groups] });
    expect(given.members.map((m) => [...m])).toEqual(built.members.map((m) => [...m]));
    expect([...given.userIndex]).toEqual([...built.userIndex]);
    // Any snapshot holding the answer's arrays takes the numbers given, not a build of its own.
    expect(snapshotIndex({ ...snapshotOf(read), stats: { copied: true } }).members).toBe(given.members);
    expect(built.members).not.toBe(given.members);
  });
});

describe('the kept snapshot', () => {
  it('encodes and decodes to a graph with the same answer, dropping nodes no linked group reaches', () => {
    const g = sample();
    const stray = g.internMember('uid=stray,dc=x');
    g.nodeKind[stray] = DANGLING;
    const expansions = new Map<number, Int32Array>();
    const before = answer(g, expansions);
    const w = new Writer();
    encodeSnapshot(w, { graph: g, expansions, scanned: false });
    const back = decodeSnapshot(new Reader(w.finish()));
    expect(back.graph.size).toBe(g.size - 1);
    expect(back.expansions.size).toBe(2);
    expect(answer(back.graph, back.expansions)).toEqual(before);
  });
});
