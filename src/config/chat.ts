/**
 * The chat part of the configuration: who may use the bot (the config file's `chat:` section)
 * and the Teams and Slack settings from the environment. Parsed with the rest by src/config.ts
 * (here, under config/, because every module reads the config and the config reads no module).
 */
import { z } from 'zod';
import { GroupsyncError } from '../errors.ts';

/** Who may use the bot: chat user ids per surface, or members of a synced directory group. */
const principals = {
  /** Microsoft Entra (AAD) object ids of Teams users. */
  teams: z.array(z.string().min(1)).default([]),
  /** Slack user ids (U… or W…). */
  slack: z.array(z.string().regex(/^[UW][A-Z0-9]+$/, 'must be a Slack user id such as U024BE7LH')).default([]),
  /** Members of these linked directory groups (as synced into the store), matched by Entra object id or mail. */
  directoryGroups: z.array(z.object({ connection: z.string().min(1), group: z.string().min(1) }).strict()).default([]),
};

export const chatSchema = z
  .object({
    /** Admins may run every command, including those that change anything. */
    admins: z.object(principals).strict().prefault({}),
    /** Viewers may run the read commands (health, status, runs, conflicts…). Admins are viewers too. */
    viewers: z
      .object({ ...principals, everyone: z.boolean().default(false) })
      .strict()
      .prefault({}),
  })
  .strict();

export type ChatConfig = z.infer<typeof chatSchema>;

export const chatEnvSchema = z.object({
  /** Teams: the Azure Bot registration. Without an app id the bot runs in local mode (Agents Playground). */
  MICROSOFT_APP_ID: z.string().optional(),
  MICROSOFT_APP_PASSWORD: z.string().optional(),
  MICROSOFT_APP_TENANT_ID: z.string().optional(),
  MICROSOFT_APP_TYPE: z.enum(['MultiTenant', 'SingleTenant', 'UserAssignedMSI']).default('MultiTenant'),
  /** The Bot Framework OpenID metadata document the tokens of Teams requests are checked against (default the public cloud's). */
  MICROSOFT_BOT_OPENID_METADATA: z.string().url().optional(),
  /** Slack: enabled when SLACK_BOT_TOKEN is set; HTTP mode needs the signing secret, Socket Mode the app token. */
  SLACK_BOT_TOKEN: z.string().optional(),
  SLACK_SIGNING_SECRET: z.string().optional(),
  SLACK_APP_TOKEN: z.string().optional(),
  SLACK_SOCKET_MODE: z.enum(['true', 'false', '1', '0']).optional(),
  /** Slack Web API base URL (default https://slack.com/api/); tests point it at a loopback server. */
  SLACK_API_URL: z.string().url().optional(),
});

type ChatEnv = z.infer<typeof chatEnvSchema>;

export interface TeamsConfig {
  /** Null: local mode (no authentication, for the Agents Playground and tests). */
  readonly appId: string | null;
  readonly appPassword: string | null;
  readonly tenantId: string | null;
  readonly appType: 'MultiTenant' | 'SingleTenant' | 'UserAssignedMSI';
  /** Where the keys of the Bot Framework's tokens are published; unset: botbuilder's default (the public cloud). */
  readonly openIdMetadataUrl?: string | null;
}

export interface SlackConfig {
  readonly botToken: string;
  readonly mode: 'http' | 'socket';
  readonly signingSecret: string | null;
  readonly appToken: string | null;
  readonly apiUrl: string | null;
}

export function teamsConfig(e: ChatEnv): TeamsConfig {
  const appId = e.MICROSOFT_APP_ID?.trim() || null;
  const appPassword = e.MICROSOFT_APP_PASSWORD || null;
  if (appId && !appPassword && e.MICROSOFT_APP_TYPE !== 'UserAssignedMSI') {
    throw new GroupsyncError('CONFIG_INVALID', 'the environment is not valid:\n  MICROSOFT_APP_PASSWORD: MICROSOFT_APP_ID is set but its client secret is not; set both (or neither, for local mode)');
  }
  if (appId && e.MICROSOFT_APP_TYPE === 'SingleTenant' && !e.MICROSOFT_APP_TENANT_ID) {
    throw new GroupsyncError('CONFIG_INVALID', 'the environment is not valid:\n  MICROSOFT_APP_TENANT_ID: a SingleTenant bot needs its tenant id');
  }
  return { appId, appPassword: appId ? appPassword : null, tenantId: e.MICROSOFT_APP_TENANT_ID || null, appType: e.MICROSOFT_APP_TYPE, openIdMetadataUrl: e.MICROSOFT_BOT_OPENID_METADATA ?? null };
}

export function slackConfig(e: ChatEnv): SlackConfig | null {
  if (!e.SLACK_BOT_TOKEN) {
    if (e.SLACK_SIGNING_SECRET || e.SLACK_APP_TOKEN) {
      throw new GroupsyncError('CONFIG_INVALID', 'the environment is not valid:\n  SLACK_BOT_TOKEN: Slack settings are present but the bot token (xoxb-…) is not; set it to enable Slack');
    }
    return null;
  }
  const socket = e.SLACK_SOCKET_MODE === 'true' || e.SLACK_SOCKET_MODE === '1';
  if (socket && !e.SLACK_APP_TOKEN) {
    throw new GroupsyncError('CONFIG_INVALID', 'the environment is not valid:\n  SLACK_APP_TOKEN: Socket Mode needs the app-level token (xapp-…)');
  }
  if (!socket && !e.SLACK_SIGNING_SECRET) {
    throw new GroupsyncError('CONFIG_INVALID', 'the environment is not valid:\n  SLACK_SIGNING_SECRET: HTTP mode needs the signing secret to verify requests (or set SLACK_SOCKET_MODE=true with SLACK_APP_TOKEN)');
  }
  return {
    botToken: e.SLACK_BOT_TOKEN,
    mode: socket ? 'socket' : 'http',
    signingSecret: e.SLACK_SIGNING_SECRET ?? null,
    appToken: e.SLACK_APP_TOKEN ?? null,
    apiUrl: e.SLACK_API_URL ?? null,
  };
}
