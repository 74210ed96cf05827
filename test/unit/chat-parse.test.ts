/** The chat command parser: text as Teams and Slack deliver it → typed commands, or a usage error. */
import { describe, expect, it } from 'vitest';
import { normalizeChatText, parseCommand } from '../../src/chat/commands/parse.ts';
import { COMMANDS, UsageError, roleOf, specOf } from '../../src/chat/commands/spec.ts';

const usageError = (text: string) => {
  try {
    parseCommand(text);
  } catch (error) {
    if (error instanceof UsageError) return { message: error.message, usage: error.usage };
    throw error;
  }
  throw new Error(`"${text}" parsed`);
};

describe('parseCommand', () => {
  it.each([
    ['', { name: 'help', topic: null }],
    ['help', { name: 'help', topic: null }],
    ['HELP sync', { name: 'help', topic: 'sync' }],
    ['health', { name: 'health' }],
    ['/health', { name: 'health' }],
    ['status corp', { name: 'status', connection: 'corp' }],
    ['sync corp', { name: 'sync', connection: 'corp', groups: [], kind: null, dryRun: false, full: false }],
    ['sync corp "Domain Admins" app-ops --kind security --dry-run', { name: 'sync', connection: 'corp', groups: ['Domain Admins', 'app-ops'], kind: 'security', dryRun: true, full: false }],
    ['sync corp --kind=group', { name: 'sync', connection: 'corp', groups: [], kind: 'group', dryRun: false, full: false }],
    ['sync corp --full', { name: 'sync', connection: 'corp', groups: [], kind: null, dryRun: false, full: true }],
    ['runs corp', { name: 'runs', connection: 'corp' }],
    ['run #42', { name: 'run', id: 42 }],
    ['conflicts corp', { name: 'conflicts', connection: 'corp' }],
    ['duplicates corp', { name: 'duplicates', connection: 'corp' }],
    ['map jdoe #12', { name: 'map', user: 'jdoe', local: '#12', connection: null }],
    ["map 'John Doe' jdoe@corp.example -c corp", { name: 'map', user: 'John Doe', local: 'jdoe@corp.example', connection: 'corp' }],
    ['ignore svc-backup --connection corp', { name: 'ignore', user: 'svc-backup', connection: 'corp' }],
    ['unignore svc-backup', { name: 'unignore', user: 'svc-backup', connection: null }],
    ['link corp "Finance Team" --kind security', { name: 'link', connection: 'corp', group: 'Finance Team', kind: 'security' }],
    ['unlink corp "cn=Finance Team,ou=groups,dc=corp"', { name: 'unlink', connection: 'corp', group: 'cn=Finance Team,ou=groups,dc=corp' }],
    ['approve 7', { name: 'approve', runId: 7 }],
    ['reject #7', { name: 'reject', runId: 7 }],
    ['subscribe', { name: 'subscribe' }],
    ['unsubscribe', { name: 'unsubscribe' }],
    // As chat clients deliver it: a Teams mention and HTML, typographic quotes, Slack escapes.
    ['<at>groupsync</at> status&nbsp;corp', { name: 'status', connection: 'corp' }],
    ['link corp “Finance &amp; Ops”', { name: 'link', connection: 'corp', group: 'Finance & Ops', kind: null }],
    ['sync corp —dry-run', { name: 'sync', connection: 'corp', groups: [], kind: null, dryRun: true, full: false }],
  ])('%j', (text, command) => {
    expect(parseCommand(text)).toEqual(command);
  });

  it.each([
    ['sync', 'sync needs CONNECTION', specOf('sync')!.usage],
    ['map jdoe', 'map needs LOCAL-USER', 'map <user> <local user> [--connection name]'],
    ['status corp extra', 'status takes at most 1 argument; did not expect "extra" (put a name with spaces in quotes)', 'status <connection>'],
    ['health now', 'health takes no arguments; did not expect "now" (put a name with spaces in quotes)', 'health'],
    ['sync corp --force', "Unknown option '--force'", specOf('sync')!.usage],
    ['sync corp --kind', "Option '--kind <value>' argument missing", specOf('sync')!.usage],
    ['link corp g --kind admins', '--kind must be "group" or "security", not "admins"', 'link <connection> <group> [--kind group|security]'],
    ['run forty-two', '"forty-two" is not a run number (write it as 42 or #42)', 'run <id>'],
    ['stauts corp', '"stauts" is not a command; did you mean "status"?', 'status <connection>'],
    ['delete everything', '"delete" is not a command; type "help" for the list', null],
    ['link corp "Finance', 'a quote is not closed; put names with spaces in "double quotes"', null],
  ])('%j is refused: %s', (text, message, usage) => {
    const e = usageError(text);
    expect(e.message.startsWith(message)).toBe(true);
    expect(e.usage).toBe(usage);
  });

  it('refuses an argument over 512 characters', () => {
    expect(usageError(`status ${'x'.repeat(513)}`).message).toBe('an argument is longer than 512 characters');
  });

  it.each([
    { what: 'a 100 KB command word', text: 'y'.repeat(100_000) },
    { what: 'a 100 KB extra argument', text: `status corp ${'z'.repeat(100_000)}` },
    { what: 'a 100 KB option value', text: `sync corp --kind ${'k'.repeat(100_000)}` },
    { what: 'a 100 KB unknown option', text: `sync corp --${'o'.repeat(100_000)}` },
  ])('does not echo $what in full', ({ text }) => {
    expect(usageError(text).message.length).toBeLessThan(300);
  });

  it.each([
    { what: 'an unknown command', text: `${'y'.repeat(400)}`, message: /^"y{20,}…" is not a command/ },
    { what: 'an extra argument', text: `status corp ${'z'.repeat(400)}`, message: /did not expect "z{20,}…"/ },
  ])('clips $what to a few words when it echoes it', ({ text, message }) => {
    const e = usageError(text);
    expect(e.message).toMatch(message);
    expect(e.message.length).toBeLessThan(200);
  });

  it('keeps LDAP and SQL metacharacters as data', () => {
    expect(parseCommand('map "*)(uid=*" "x\'; drop table runs; --"')).toEqual({ name: 'map', user: '*)(uid=*', local: "x'; drop table runs; --", connection: null });
  });
});

describe('roles', () => {
  const SAMPLES: Record<string, string> = {
    help: 'help', health: 'health', status: 'status corp', sync: 'sync corp', runs: 'runs corp', run: 'run 1', conflicts: 'conflicts corp',
    duplicates: 'duplicates corp', map: 'map a b', ignore: 'ignore a', unignore: 'unignore a', link: 'link corp g', unlink: 'unlink corp g',
    approve: 'approve 1', reject: 'reject 1', subscribe: 'subscribe', unsubscribe: 'unsubscribe',
    users: 'users corp', audit: 'audit', incidents: 'incidents', why: 'why a', pause: 'pause corp', resume: 'resume corp',
  };

  it('read commands are for viewers; anything that changes something is for admins, and so is a dry run (it reads the whole directory)', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual(COMMANDS.map((c) => c.name).sort());
    const viewer = COMMANDS.filter((c) => roleOf(parseCommand(SAMPLES[c.name]!)) === 'viewer').map((c) => c.name);
    expect(viewer).toEqual(['help', 'health', 'status', 'runs', 'run', 'conflicts', 'duplicates', 'users', 'audit', 'incidents', 'why']);
    expect(roleOf(parseCommand('sync corp --dry-run'))).toBe('admin');
  });
});

describe('normalizeChatText', () => {
  it('gives back what was typed', () => {
    expect(normalizeChatText('<p>sync&nbsp;corp</p>\n')).toBe('sync corp');
    expect(normalizeChatText('map ‘a b’ “c”')).toBe("map 'a b' \"c\"");
  });
});
