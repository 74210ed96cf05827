/** Audit entries as sentences: actors by name, targets by name, ids left to the details line. */
import { describe, expect, it } from 'vitest';
import { actorDisplay, auditDetails, auditSentence, memberIdsOf, parseSince } from '../../src/ops/audit-text.ts';
import type { AuditPageRow } from '../../src/store/audit-log.ts';

const row = (overrides: Partial<AuditPageRow>): AuditPageRow => ({
  id: 1,
  at: new Date('2026-03-01T10:00:00Z'),
  actor: 'teams:Ana Lima (6f4b8a1e)',
  actorName: null,
  action: 'user.deactivated',
  connection: 'corp',
  runId: 42,
  targetType: 'user',
  targetId: '105',
  before: { active: true, login: 'jdoe' },
  after: { active: false },
  targetName: 'jdoe',
  targetDisplayName: 'Jane Doe',
  ...overrides,
});

describe('actorDisplay', () => {
  it.each([
    ['teams:Ana Lima (6f4b8a1e)', null, 'Ana Lima'],
    ['slack:(U123)', 'Bruno Reis', 'Bruno Reis'],
    ['slack:(U123)', null, 'slack user U123'],
    ['cli:root', null, 'root (CLI)'],
    ['schedule', null, 'schedule'],
  ])('%s (known name %s) reads "%s"', (actor, known, expected) => {
    expect(actorDisplay(actor, known)).toBe(expected);
  });
});

describe('auditSentence', () => {
  it('names the actor and the user, not their ids', () => {
    expect(auditSentence(row({}))).toBe('Ana Lima deactivated user jdoe (Jane Doe)');
    expect(auditDetails(row({}))).toBe('user #105 · run #42 · corp · teams:Ana Lima (6f4b8a1e)');
  });

  it('falls back to the name kept in the entry when the object is gone, then to its id', () => {
    expect(auditSentence(row({ action: 'group.deleted', targetType: 'group', targetName: null, targetDisplayName: null, before: { name: 'Finance' }, after: null }))).toBe('Ana Lima deleted group Finance');
    expect(auditSentence(row({ action: 'group.deleted', targetType: 'group', targetName: null, targetDisplayName: null, before: null, after: null }))).toBe('Ana Lima deleted group #105');
  });

  it('lists the members a membership change added and removed, by login', () => {
    const e = row({ action: 'group.members_changed', targetType: 'group', targetName: 'ops', targetDisplayName: null, before: { removed: [7] }, after: { added: [5, 6] } });
    expect(auditSentence(e, new Map([[5, 'bruno'], [6, 'fred'], [7, 'gus']]))).toBe('Ana Lima changed the members of group ops: added bruno, fred; removed gus');
  });
});

describe('audit sentences for every action an admin meets (issue 13)', () => {
  const cli = { actor: 'cli:root', runId: null };
  it.each([
    ['connection.paused', row({ ...cli, action: 'connection.paused', targetType: 'connection', targetId: 'corp', targetName: null, targetDisplayName: null, before: { paused: false }, after: { paused: true } }), 'root (CLI) paused connection corp'],
    ['connection.resumed', row({ ...cli, action: 'connection.resumed', targetType: 'connection', targetId: 'corp', targetName: null, targetDisplayName: null }), 'root (CLI) resumed connection corp'],
    [
      'duplicate.separated',
      row({ ...cli, action: 'duplicate.separated', targetType: 'directory_group', targetId: 'app-g001', targetName: 'App Group 1', targetDisplayName: null, after: { localGroupName: 'App Group 1 (corp)' } }),
      'root (CLI) synced the duplicate directory group App Group 1 as a separate local group App Group 1 (corp)',
    ],
    ['duplicate.ignored', row({ ...cli, action: 'duplicate.ignored', targetType: 'directory_group', targetId: '3920eb36-aaaa', targetName: 'Finance', targetDisplayName: null }), 'root (CLI) ignored the duplicate directory group Finance'],
    [
      'user.mapped by an admin',
      row({ ...cli, action: 'user.mapped', targetType: 'directory_user', targetId: 'u1500', targetName: 'u1500', targetDisplayName: null, after: { status: 'mapped', localUserId: 1596 } }),
      'root (CLI) mapped user u1500 to local user jdoe (#1596)',
    ],
  ])('%s', (_, e, sentence) => {
    expect(auditSentence(e, new Map([[1596, 'jdoe']]))).toBe(sentence);
  });

  it('asks for the login of the local user a mapping points to', () => {
    expect(memberIdsOf(row({ action: 'user.mapped', targetType: 'directory_user', after: { localUserId: 1596 } }))).toEqual([1596]);
  });

  it('does not repeat the run in the details of a run entry', () => {
    expect(auditDetails(row({ action: 'run.approved', targetType: 'run', targetId: '13', runId: 13 }))).toBe('run #13 · corp · teams:Ana Lima (6f4b8a1e)');
  });
});

describe('parseSince', () => {
  const now = new Date('2026-03-10T12:00:00Z');
  it.each([
    ['2h', '2026-03-10T10:00:00.000Z'],
    ['7d', '2026-03-03T12:00:00.000Z'],
    ['30m', '2026-03-10T11:30:00.000Z'],
    ['2026-03-01', '2026-03-01T00:00:00.000Z'],
  ])('%s is %s', (text, iso) => {
    expect(parseSince(text, now)?.toISOString()).toBe(iso);
  });
  it.each(['soon', '2h ago', '2026-13-45'])('%s is refused', (text) => {
    expect(parseSince(text, now)).toBeNull();
  });
});
