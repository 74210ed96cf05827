/** store/conversations.ts on the real PostgreSQL server: alert subscriptions with their audit, and the alert cap shared by processes. */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  claimAlertPost,
  countAlertOverflow,
  getConversation,
  listSubscribed,
  setAlertOverflowMessage,
  setSubscription,
} from '../../src/store/conversations.ts';
import { type Store, openStore, queryRows } from '../../src/store/db.ts';
import { openTestStore } from '../support/app.ts';

let store: Store;
beforeAll(async () => {
  store = await openTestStore('postgres');
});
afterAll(() => store?.close());

const now = new Date('2025-04-01T10:00:00Z');
const later = (seconds: number) => new Date(now.getTime() + seconds * 1000);
const teams = (key: string, serviceUrl = 'https://smba.example/emea/') => ({ surface: 'teams' as const, key, reference: { conversation: { id: key }, serviceUrl }, label: `#${key}` });

const audit = async (targetId: string) =>
  queryRows<{ action: string; actor: string; before: unknown; after: unknown }>(
    store.db,
    sql`select action, actor, before, after from audit_log where target_type = 'conversation' and target_id = ${targetId} order by id`,
  );

describe('alert subscriptions', () => {
  it('subscribes and unsubscribes a conversation, audited only when it changes; the reference is refreshed either way', async () => {
    expect(await setSubscription(store.db, teams('19:alerts'), true, 'teams:alice', now)).toEqual({ changed: true });
    expect(await setSubscription(store.db, teams('19:alerts', 'https://smba.example/amer/'), true, 'teams:alice', later(1))).toEqual({ changed: false });
    const [listed] = await listSubscribed(store.db, 'teams');
    expect(listed).toMatchObject({ surface: 'teams', conversationKey: '19:alerts', subscribed: true, updatedBy: 'teams:alice' });
    expect(listed!.reference).toMatchObject({ serviceUrl: 'https://smba.example/amer/' });
    expect(await getConversation(store.db, listed!.id)).toMatchObject({ id: listed!.id, conversationKey: '19:alerts' });
    expect(await listSubscribed(store.db, 'slack')).toEqual([]);

    expect(await setSubscription(store.db, teams('19:alerts'), false, 'teams:bob', later(2))).toEqual({ changed: true });
    expect(await listSubscribed(store.db, 'teams')).toEqual([]);
    expect(await audit('teams:19:alerts')).toEqual([
      { action: 'alerts.subscribed', actor: 'teams:alice', before: { subscribed: false }, after: { subscribed: true, label: '#19:alerts' } },
      { action: 'alerts.unsubscribed', actor: 'teams:bob', before: { subscribed: true }, after: { subscribed: false, label: '#19:alerts' } },
    ]);
  });

  it('finds no conversation for an unknown id', async () => {
    expect(await getConversation(store.db, 999_999)).toBeNull();
  });
});

describe('the alert cap', () => {
  const cap = { posts: 2, windowMs: 60_000 };

  it('takes posts up to the cap in a window, counts the rest against one "more alerts" message, and starts afresh in the next window', async () => {
    await setSubscription(store.db, teams('19:cap'), true, 'teams:alice', now);
    const id = (await listSubscribed(store.db, 'teams')).find((c) => c.conversationKey === '19:cap')!.id;
    expect(await claimAlertPost(store.db, id, now, cap)).toBe(true);
    expect(await claimAlertPost(store.db, id, later(10), cap)).toBe(true);
    expect(await claimAlertPost(store.db, id, later(20), cap)).toBe(false);
    expect(await countAlertOverflow(store.db, id)).toEqual({ count: 1, messageId: null });
    await setAlertOverflowMessage(store.db, id, 'activity-7');
    expect(await countAlertOverflow(store.db, id)).toEqual({ count: 2, messageId: 'activity-7' });

    // The window began at the first post: a minute after it, a new one starts, without the old overflow.
    expect(await claimAlertPost(store.db, id, later(60), cap)).toBe(true);
    expect(await countAlertOverflow(store.db, id)).toEqual({ count: 1, messageId: null });
  });

  it('is shared by processes: claims made at once from two stores on one database take the cap exactly', async () => {
    await setSubscription(store.db, teams('19:shared'), true, 'teams:alice', now);
    const id = (await listSubscribed(store.db, 'teams')).find((c) => c.conversationKey === '19:shared')!.id;
    const other = await openStore({ databaseUrl: store.url, maxConnections: 5 });
    try {
      const claims = await Promise.all(Array.from({ length: 10 }, (_, i) => claimAlertPost(i % 2 ? other.db : store.db, id, now, { posts: 3, windowMs: 60_000 })));
      expect(claims.filter(Boolean)).toHaveLength(3);
    } finally {
      await other.close();
    }
  });
});
