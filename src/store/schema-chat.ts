/**
 * The tables of chat delivery and alerts: the conversations groupsync posts to, the incidents it
 * alerts on, the chat requests it has acted on, and the Slack users whose Home tab it keeps
 * published. Part of the schema (re-exported by schema.ts).
 */
import { sql } from 'drizzle-orm';
import { boolean, index, integer, jsonb, pgTable, serial, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { created, ts, updated } from './schema-columns.ts';

/** Chat conversations groupsync can post to (stored, never kept in memory), and their alert subscription. */
export const conversations = pgTable(
  'conversations',
  {
    id: serial('id').primaryKey(),
    surface: text('surface').$type<'teams' | 'slack'>().notNull(),
    conversationKey: text('conversation_key').notNull(),
    reference: jsonb('reference').notNull(),
    subscribed: boolean('subscribed').notNull().default(false),
    updatedBy: text('updated_by'),
    /**
     * The alert cap: alerts posted here in the current window (a minute from its first post), and
     * the one "N more alerts" message of that window, updated in place while the cap holds.
     */
    alertWindowStart: ts('alert_window_start'),
    alertPosts: integer('alert_posts').notNull().default(0),
    alertOverflow: jsonb('alert_overflow').$type<{ messageId: string; count: number } | null>(),
    createdAt: created(),
    updatedAt: updated(),
  },
  (t) => [uniqueIndex('conversations_key').on(t.surface, t.conversationKey)],
);

/** Alert incidents: one open incident per cause per connection or link; each delivery recorded. */
export const incidents = pgTable(
  'incidents',
  {
    id: serial('id').primaryKey(),
    connection: text('connection').notNull(),
    linkId: integer('link_id'),
    cause: text('cause').notNull(),
    status: text('status').$type<'open' | 'resolved'>().notNull().default('open'),
    runId: integer('run_id'),
    details: jsonb('details').notNull().default({}),
    /** Where the alert was posted: [{ surface, conversationId, messageId, at }]. */
    deliveries: jsonb('deliveries').$type<Array<Record<string, unknown>>>().notNull().default([]),
    /**
     * The alert outbox: set when a process with chat surfaces took the incident to post (or to
     * update as resolved). An incident opened by the CLI stays unclaimed until the service's next
     * scheduler tick delivers it, so no alert is lost to a process that cannot post.
     */
    alertedAt: ts('alerted_at'),
    resolveAlertedAt: ts('resolve_alerted_at'),
    /**
     * An open incident whose details change (links joining or leaving a grouped alert) gets a new
     * version; the posted cards are updated until `alertedVersion` catches up (the update outbox).
     */
    version: integer('version').notNull().default(0),
    alertedVersion: integer('alerted_version').notNull().default(0),
    openedAt: created('opened_at'),
    resolvedAt: ts('resolved_at'),
  },
  (t) => [
    uniqueIndex('incidents_open_key')
      .on(t.connection, sql`coalesce(${t.linkId}, 0)`, t.cause)
      .where(sql`${t.status} = 'open'`),
  ],
);

/**
 * Chat requests already acted on (a digest of a signed Slack request, a Slack event id, a Teams
 * activity id), kept for an hour so a replayed or retried request is acted on once, whichever
 * process of the service receives it.
 */
export const chatRequests = pgTable(
  'chat_requests',
  {
    key: text('key').primaryKey(),
    seenAt: created('seen_at'),
  },
  (t) => [index('chat_requests_seen_idx').on(t.seenAt)],
);

/**
 * Slack users who opened groupsync's Home tab: their home is republished when something on it
 * changes (a run ends, an incident opens or closes, a decision), for those who opened it in the
 * last 30 days.
 */
export const slackHomeUsers = pgTable(
  'slack_home_users',
  {
    userId: text('user_id').primaryKey(),
    openedAt: ts('opened_at').notNull().defaultNow(),
    publishedAt: ts('published_at'),
  },
  (t) => [index('slack_home_users_opened_idx').on(t.openedAt)],
);
