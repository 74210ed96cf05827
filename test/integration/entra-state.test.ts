/**
 * The Entra source and the state it keeps (delta links and the directory as last read): the kept
 * directory is decoded only for a read that uses it, a delta read. A full read, asked for or
 * forced (another scope), reads without it: it is not held through the read.
 */
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { EntraSource } from '../../src/directory/entra/source.ts';
import { type DirectoryState, isUnchanged } from '../../src/domain/types.ts';
import { defaultGraphScope } from '../../src/domain/graph-scope.ts';
import { type GraphServer, guid, startGraphServer } from '../support/graph-server.ts';

const U = (n: number) => guid(1, n);
const G = (n: number) => guid(2, n);

describe('Entra source state', () => {
  let graph: GraphServer;

  beforeEach(async () => {
    const tls = inject('graphTls');
    graph = await startGraphServer({ certFile: tls.certFile, keyFile: tls.keyFile });
    for (let n = 1; n <= 3; n++) graph.addUser({ id: U(n), userPrincipalName: `u${n}@corp.example`, mail: `u${n}@example.org`, displayName: `U${n}`, accountEnabled: true });
    graph.addGroup({ id: G(1), displayName: 'app-one', description: null, members: [U(1), U(2)] });
    graph.addGroup({ id: G(2), displayName: 'other', description: null, members: [U(3)] });
  });
  afterEach(async () => {
    await graph?.stop();
  });

  const source = () =>
    new EntraSource({
      tenantId: graph.tenantId,
      clientId: graph.clientId,
      credential: { type: 'secret', secret: graph.clientSecret },
      authorityHost: graph.authorityHost,
      graphBaseUrl: graph.graphBaseUrl,
      scope: defaultGraphScope(graph.graphBaseUrl),
      trustedHosts: ['127.0.0.1'],
      pageSize: 100,
      timeoutSeconds: 5,
      maxRetries: 0,
      retryDelayMs: 10,
      delta: true,
    });

  it('loads the kept directory for a delta read only, not for a full read asked for or a changed scope', async () => {
    const scope = { groupFilter: "startswith(displayName,'app-')", groupRefs: [] };
    const first = await source().read(scope);
    let loads = 0;
    const kept: DirectoryState = {
      cursor: first.nextState!.cursor,
      cache: null,
      loadCache: async () => {
        loads++;
        return first.nextState!.cache;
      },
    };
    const full = await source().read(scope, undefined, kept, { full: true });
    expect(full.stats).toMatchObject({ readMode: 'full', readReason: 'requested' });
    const wider = await source().read({ ...scope, groupRefs: [G(2)] }, undefined, kept);
    expect(wider.stats).toMatchObject({ readMode: 'full', readReason: 'scopeChanged' });
    expect(wider.groups.map((g) => g.name).sort()).toEqual(['app-one', 'other']);
    expect(loads).toBe(0);
    const delta = await source().read(scope, undefined, kept);
    expect(delta.stats).toMatchObject({ readMode: 'delta' });
    expect(delta.groups.map((g) => [g.name, [...g.memberIds].sort()])).toEqual([['app-one', [U(1), U(2)]]]);
    expect(loads).toBe(1);
  });

  it('answers "nothing changed" from the deltas and the linked groups alone when the engine allows it, without the kept directory', async () => {
    const scope = { groupFilter: "startswith(displayName,'app-')", groupRefs: [] };
    const first = await source().read(scope);
    let loads = 0;
    const kept = (state: DirectoryState): DirectoryState => ({
      cursor: state.cursor,
      cache: null,
      loadCache: async () => {
        loads++;
        return first.nextState!.cache;
      },
    });
    const quiet = await source().read(scope, undefined, kept(first.nextState!), { allowUnchanged: true });
    expect(quiet).toMatchObject({ unchanged: true, stats: { readMode: 'delta', usersChanged: 0, groupsChanged: 0 }, nextState: { cache: null } });
    expect(quiet.nextState!.cursor).toMatchObject({ readMode: 'delta', linked: first.nextState!.cursor['linked'] });
    expect(quiet.nextState!.cursor['usersDeltaLink']).toMatch(/\/users\/delta\?\$deltatoken=\d+/);
    expect(loads).toBe(0);
    // Without the engine's leave, the same read builds the snapshot.
    expect(await source().read(scope, undefined, kept(quiet.nextState!))).toMatchObject({ stats: { readMode: 'delta' }, groups: [{ name: 'app-one' }] });
    expect(loads).toBe(1);
    // A cursor kept before it named the linked groups, or naming others: read, never "unchanged".
    const { linked: _linked, ...older } = quiet.nextState!.cursor;
    expect(isUnchanged(await source().read(scope, undefined, kept({ cursor: older, cache: null }), { allowUnchanged: true }))).toBe(false);
    const other = { ...quiet.nextState!.cursor, linked: 'another listing' };
    expect(isUnchanged(await source().read(scope, undefined, kept({ cursor: other, cache: null }), { allowUnchanged: true }))).toBe(false);
    expect(loads).toBe(3);
    // A user changed anywhere, or a group's members: read.
    graph.updateUser(U(3), { displayName: 'U3 again' });
    const user = await source().read(scope, undefined, kept(quiet.nextState!), { allowUnchanged: true });
    expect(user).toMatchObject({ stats: { readMode: 'delta', usersChanged: 1 } });
    graph.addMember(G(1), U(3));
    const member = await source().read(scope, undefined, kept(user.nextState!), { allowUnchanged: true });
    expect(member).toMatchObject({ stats: { readMode: 'delta', groupsChanged: 1 }, groups: [{ name: 'app-one', memberIds: expect.arrayContaining([U(3)]) }] });
    expect(loads).toBe(5);
  });

  it('a kept directory that cannot be read gives a full read, and says there was no state', async () => {
    const scope = { groupFilter: "startswith(displayName,'app-')", groupRefs: [] };
    const first = await source().read(scope);
    const read = await source().read(scope, undefined, { cursor: first.nextState!.cursor, cache: new Uint8Array([1, 2, 3]) });
    expect(read.stats).toMatchObject({ readMode: 'full', readReason: 'noState' });
  });
});
