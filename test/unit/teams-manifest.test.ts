/** The Teams app manifest and its package: commands that exist, values from the environment, icons. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { strFromU8, unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { buildTeamsPackage } from '../../manifest/teams/package.ts';
import { COMMANDS } from '../../src/chat/commands/spec.ts';

const APP_ID = '3f1c0c55-8a0e-4a51-9d0e-5b1f7c2a9e10';
const template = JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../../manifest/teams/manifest.json'), 'utf8')) as {
  manifestVersion: string;
  bots: Array<{ scopes: string[]; commandLists: Array<{ scopes: string[]; commands: Array<{ title: string; description: string }> }> }>;
};

describe('Teams manifest', () => {
  it('declares a bot for personal, team and group chat whose commands are commands of the command layer', () => {
    expect(template.manifestVersion).toBe('1.22');
    const bot = template.bots[0]!;
    expect(bot.scopes).toEqual(['personal', 'team', 'groupChat']);
    const commands = bot.commandLists[0]!.commands;
    expect(commands.length).toBeLessThanOrEqual(10); // Teams shows at most 10 per list; "help" lists them all
    for (const c of commands) {
      const spec = COMMANDS.find((s) => s.name === c.title);
      expect(spec, c.title).toBeDefined();
      expect(c.description.startsWith(spec!.usage)).toBe(true);
      expect(c.description.length).toBeLessThanOrEqual(128);
    }
    expect(commands.map((c) => c.title)).toEqual(expect.arrayContaining(['help', 'health', 'status', 'sync', 'conflicts', 'duplicates', 'subscribe']));
  });

  it('packages manifest and icons with the values from the environment', () => {
    const { zip } = buildTeamsPackage({ MICROSOFT_APP_ID: APP_ID, BOT_DOMAIN: 'groupsync.contoso.com', APP_VERSION: '2.3.4' });
    const files = unzipSync(zip);
    expect(Object.keys(files).sort()).toEqual(['color.png', 'manifest.json', 'outline.png']);
    const manifest = JSON.parse(strFromU8(files['manifest.json']!)) as Record<string, unknown> & { bots: Array<{ botId: string }>; validDomains: string[]; developer: { privacyUrl: string } };
    expect(manifest).toMatchObject({ id: APP_ID, version: '2.3.4', validDomains: ['groupsync.contoso.com'], developer: { privacyUrl: 'https://groupsync.contoso.com/privacy' } });
    expect(manifest.bots[0]!.botId).toBe(APP_ID);
    expect(JSON.stringify(manifest)).not.toMatch(/\{\{/);
  });

  it('says which environment values are missing or wrong', () => {
    expect(() => buildTeamsPackage({ MICROSOFT_APP_ID: 'not-a-guid', BOT_DOMAIN: 'https://x/api' })).toThrow(
      /MICROSOFT_APP_ID must be the Azure Bot registration's app id \(a GUID\)\n {2}BOT_DOMAIN must be the public host name/,
    );
  });
});
