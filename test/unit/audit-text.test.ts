/** Audit entries as sentences: actors by name, targets by name, ids left to the details line. */
import { describe, expect, it } from 'vitest';
import { actorDisplay, auditDetails, auditSentence, parseSince } from '../../src/ops/audit-text.ts';
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
