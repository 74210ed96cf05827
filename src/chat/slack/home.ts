/**
 * The Slack App Home: the HomeView (chat/views/home.ts) as a Home tab, published with
 * views.publish when a user opens it, after their clicks on it, and, throttled, when something on
 * it changes (a run ends, an incident opens or closes, an admin decides or resolves something)
 * for everyone who opened it in the last 30 days. A publish that fails is logged; it never fails
 * the run, the alert or the click that caused it.
 */
import type { webApi } from '@slack/bolt';
import { describeError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import type { Db } from '../../store/db.ts';
import { listHomeUsers, recordHomeOpened, setHomePublished } from '../../store/home-users.ts';
import type { ChatUser } from '../auth.ts';
import type { Reply } from '../commands/context.ts';
import type { ChatService } from '../service.ts';
import { neutralView } from '../views/format.ts';
import type { HomeView } from '../views/home.ts';
import { summarize } from '../views/summary.ts';
import type { ButtonView, NoticeView } from '../views/types.ts';
import { type Block, type ButtonElement, LIMITS, actionIdOf, escapeMrkdwn as e, splitText } from './kit.ts';

/** Slack's limit for a Home tab. */
export const HOME_BLOCKS = 100;
/** At most one refresh per user and window; a change inside it is published when it ends. */
export const DEFAULT_HOME_THROTTLE_MS = 10_000;
/** Homes opened longer ago than this are not refreshed (until opened again). */
export const HOME_REFRESH_DAYS = 30;

const TONE_ICON = { good: '✅', attention: '🔴', warning: '⚠️', accent: '🔵', default: 'ℹ️' } as const;

class HomeLayout {
  readonly blocks: Block[] = [];
  #buttons = 0;

  button(b: ButtonView): ButtonElement {
    const style = b.style === 'positive' ? { style: 'primary' as const } : b.style === 'destructive' ? { style: 'danger' as const } : {};
    const label = b.label.length <= LIMITS.buttonText ? b.label : `${b.label.slice(0, LIMITS.buttonText - 1)}…`;
    return { type: 'button', action_id: actionIdOf(b.verb, `home${this.#buttons++}`), text: { type: 'plain_text', text: label, emoji: true }, value: JSON.stringify(b.data), ...style };
  }

  text(text: string, buttons: readonly ButtonView[] = []): void {
    const pieces = splitText(text);
    pieces.forEach((piece, i) => {
      const accessory = i === pieces.length - 1 && buttons.length === 1 ? { accessory: this.button(buttons[0]!) } : {};
      this.blocks.push({ type: 'section', text: { type: 'mrkdwn', text: piece }, ...accessory });
    });
    if (buttons.length > 1) this.blocks.push({ type: 'actions', elements: buttons.slice(0, LIMITS.actionsElements).map((b) => this.button(b)) });
  }

  context(text: string): void {
    this.blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: text.slice(0, LIMITS.sectionText) }] });
  }
}

function adminSections(l: HomeLayout, view: HomeView): void {
  l.blocks.push({ type: 'divider' });
  l.text(view.incidents.length ? `*Open incidents* (${view.incidents.length})` : '*Open incidents*: none');
  for (const i of view.incidents) l.text(`⚠️ *${e(i.title)}*\n${e(i.text)}`, i.buttons);
  if (view.incidentsNote) l.context(e(view.incidentsNote));
  l.blocks.push({ type: 'divider' });
  l.text(view.approvals.length ? `*Pending approvals* (${view.approvals.length})` : '*Pending approvals*: none');
  for (const a of view.approvals) l.text(`⏸ *${e(a.title)}*\n${e(a.reason)}\n${e(a.detail)}`, a.buttons);
  l.blocks.push({ type: 'divider' });
  l.text(view.resolve.length ? '*Users and groups to resolve*' : '*Users and groups to resolve*: none');
  for (const r of view.resolve) l.text(`*${e(r.connection)}*: ${e(r.counts)}`, r.buttons);
  if (view.resolveNote) l.context(e(view.resolveNote));
}

/** The Home tab of a HomeView, within Slack's 100 blocks. */
export function renderHome(shown: HomeView): { type: 'home'; blocks: Block[] } {
  // Directory text (names, run errors) as it may be shown, as cards and messages show it.
  const view = neutralView(shown);
  const l = new HomeLayout();
  if (view.notice) l.text(`${TONE_ICON[view.notice.tone]} *${e(view.notice.text)}*`);
  if (view.role === 'none') {
    l.text(e(view.intro));
    return { type: 'home', blocks: l.blocks };
  }
  l.blocks.push({ type: 'header', text: { type: 'plain_text', text: view.title, emoji: true } });
  l.context(`${e(view.updated)} · ${e(view.intro)}`);
  const h = view.health;
  l.text(`*Health* — ${h.status === 'red' ? '🔴' : '🟢'} ${h.status} · ${e(h.summary)}`);
  for (const c of h.connections) {
    const icon = c.paused ? '⏸' : c.status === 'red' ? '🔴' : '🟢';
    l.text(`${icon} *${e(c.name)}* · ${c.paused ? 'paused' : c.status} (${e(c.kind)})${c.reasons.length ? `\n${e(c.reasons.join('; '))}` : ''}\nLast sync: ${e(c.lastSync)} · Next run: ${e(c.nextRun)}`);
  }
  if (h.more) l.context(e(h.more));
  if (view.role === 'admin') adminSections(l, view);
  if (l.blocks.length <= HOME_BLOCKS) return { type: 'home', blocks: l.blocks };
  const kept = l.blocks.slice(0, HOME_BLOCKS - 1);
  kept.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `${l.blocks.length - kept.length} more blocks do not fit on the home: type "health" or "incidents" in a message to groupsync.` }] });
  return { type: 'home', blocks: kept };
}

/** What a click on the home says on it: the answer's own notice, else its one-line summary. */
function noticeOf(reply: Reply): NoticeView {
  const own = 'notice' in reply.view ? reply.view.notice : null;
  return own ?? { tone: reply.replace ? 'default' : 'attention', text: summarize(reply.view) };
}

export interface HomePublisher {
  /** A user opened the Home tab: remembered, and published for them now. */
  opened(userId: string): Promise<void>;
  /**
   * A click on the home: the shared layer acts on it; a view of something else (a list, a run) is
   * posted by `post` (the user's direct message with the app), anything else is shown on the home.
   */
  clicked(user: ChatUser, verb: string, data: unknown, post: (reply: Reply) => Promise<void>): Promise<void>;
  /** Something on the homes may have changed: refresh those opened lately (throttled). */
  changed(): void;
  stop(): void;
}

export interface HomeDeps {
  readonly client: webApi.WebClient;
  readonly chat: ChatService;
  readonly db: Db;
  readonly logger: Logger;
  readonly userOf: (id: string) => Promise<ChatUser>;
  /** Runs work after the request's acknowledgement (the surface's idle() waits for it). */
  readonly track: (what: string, work: () => Promise<void>) => void;
  readonly throttleMs?: number;
}

export function createHomePublisher(deps: HomeDeps): HomePublisher {
  const throttleMs = deps.throttleMs ?? DEFAULT_HOME_THROTTLE_MS;
  const { logger } = deps;
  // One publish at a time per user, in order: a click's notice is not overwritten by an older refresh.
  const queues = new Map<string, Promise<void>>();
  const windows = new Map<string, { last: number; timer: NodeJS.Timeout | null }>();
  let stopped = false;

  const publishNow = async (userId: string, notice: NoticeView | null): Promise<void> => {
    try {
      const view = await deps.chat.home({ user: await deps.userOf(userId), conversation: null }, notice);
      await deps.client.views.publish({ user_id: userId, view: renderHome(view) as unknown as webApi.ViewsPublishArguments['view'] });
      await setHomePublished(deps.db, userId, new Date());
    } catch (error) {
      logger.warn({ user: userId, err: describeError(error) }, 'Slack: the home could not be published; it is published again at the next change or when opened');
    }
  };
  const publish = (userId: string, notice: NoticeView | null = null): Promise<void> => {
    const next = (queues.get(userId) ?? Promise.resolve()).then(() => publishNow(userId, notice));
    queues.set(userId, next);
    void next.finally(() => queues.get(userId) === next && queues.delete(userId));
    return next;
  };

  const refresh = (userId: string) => {
    const w = windows.get(userId) ?? { last: 0, timer: null };
    windows.set(userId, w);
    if (w.timer || stopped) return; // a refresh at the window's end is already due
    const wait = w.last + throttleMs - Date.now();
    const run = () => {
      w.timer = null;
      w.last = Date.now();
      deps.track('home refresh', () => publish(userId));
    };
    if (wait <= 0) run();
    else w.timer = setTimeout(run, wait).unref();
  };

  return {
    async opened(userId) {
      await recordHomeOpened(deps.db, userId, new Date());
      await publish(userId);
    },
    async clicked(user, verb, data, post) {
      const reply = await deps.chat.handleAction({ user, conversation: null }, verb, data);
      if (reply.replace && (reply.asNewMessage || reply.followUp)) await post(reply);
      else await publish(user.id, noticeOf(reply));
    },
    changed() {
      if (stopped) return;
      deps.track('home refresh', async () => {
        const since = new Date(Date.now() - HOME_REFRESH_DAYS * 86_400_000);
        for (const userId of await listHomeUsers(deps.db, since)) refresh(userId);
      });
    },
    stop() {
      stopped = true;
      for (const w of windows.values()) if (w.timer) clearTimeout(w.timer);
      windows.clear();
    },
  };
}
