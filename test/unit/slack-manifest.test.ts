import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SLACK_EVENTS_PATH, SLASH_COMMAND } from '../../src/chat/slack/app.ts';
import { COMMANDS } from '../../src/chat/commands/spec.ts';

type Manifest = {
  features: { app_home: { home_tab_enabled: boolean; messages_tab_enabled: boolean }; slash_commands: Array<{ command: string; url: string; usage_hint: string; description: string; should_escape: boolean }>; bot_user: { display_name: string } };
  oauth_config: { scopes: { bot: string[] } };
  settings: { event_subscriptions: { request_url: string; bot_events: string[] }; interactivity: { is_enabled: boolean; request_url: string }; socket_mode_enabled: boolean };
};

const manifest = parse(readFileSync(path.resolve(import.meta.dirname, '..', '..', 'manifest', 'slack', 'manifest.yml'), 'utf8')) as Manifest;

describe('Slack app manifest', () => {
  const [command] = manifest.features.slash_commands;

  it('declares the one slash command the bot listens to', () => {
    expect(manifest.features.slash_commands).toHaveLength(1);
    expect(command!.command).toBe(SLASH_COMMAND);
    expect(command!.should_escape).toBe(false);
  });

  it.each(COMMANDS.map((c) => [c.name, c.usage] as const))('usage hint has "%s" as the command table writes it', (name, usage) => {
    const entries = command!.usage_hint.split(' | ');
    expect(entries.map((e) => e.split(' ')[0])).toContain(name);
    // The hint may leave out options (--connection), never an argument the table requires.
    const entry = entries.find((e) => e.split(' ')[0] === name)!;
    for (const arg of usage.match(/<[^>]+>/g) ?? []) expect(entry).toContain(arg);
  });

  it('sends commands, events and clicks to the route the surface mounts', () => {
    for (const url of [command!.url, manifest.settings.event_subscriptions.request_url, manifest.settings.interactivity.request_url]) {
      expect(new URL(url.replace('<host>', 'groupsync.example.org')).pathname).toBe(SLACK_EVENTS_PATH);
    }
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
    expect(manifest.settings.socket_mode_enabled).toBe(false);
  });

  it('enables the Home tab the bot publishes (views.publish on app_home_opened) and the Messages tab it answers in', () => {
    expect(manifest.features.app_home).toMatchObject({ home_tab_enabled: true, messages_tab_enabled: true });
  });

  it('subscribes to the events the bot answers and asks for the scopes it uses', () => {
    expect(manifest.settings.event_subscriptions.bot_events.sort()).toEqual(['app_home_opened', 'app_mention', 'message.im']);
    expect(manifest.oauth_config.scopes.bot.sort()).toEqual(['app_mentions:read', 'channels:read', 'chat:write', 'commands', 'groups:read', 'im:history', 'im:read', 'users:read', 'users:read.email']);
  });
});
