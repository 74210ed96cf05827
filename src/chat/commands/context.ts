/** What a command or a button handler gets, and what it gives back. No chat framework types. */
import type { Logger } from '../../logger.ts';
import type { Operations } from '../../ops/operations.ts';
import type { ConversationInput } from '../../store/conversations.ts';
import type { Db } from '../../store/db.ts';
import type { View } from '../views/types.ts';

/** Who is asking, as every surface describes a chat user (the authorizer in chat/auth.ts decides what they may do). */
export interface ChatUser {
  readonly surface: 'teams' | 'slack' | 'cli';
  /** The surface's user id: Teams channel account id (29:…) or Slack user id. */
  readonly id: string;
  /** Microsoft Entra object id (Teams). */
  readonly aadObjectId: string | null;
  readonly name: string | null;
  /** Looked up only when a directory group decides (it may cost the surface an API call). */
  readonly email?: () => Promise<string | null>;
}

export interface ChatContext {
  readonly ops: Operations;
  readonly db: Db;
  readonly logger: Logger;
  readonly now: () => Date;
  readonly user: ChatUser;
  /** Written to the audit log and shown on cards. */
  readonly actor: string;
  /** The conversation the command came from (null where the surface gives none). */
  readonly conversation: ConversationInput | null;
}

/** Updates the message the reply was posted as (Teams: update activity; Slack: chat.update). */
export type UpdateView = (view: View) => Promise<void>;

export interface Reply {
  readonly view: View;
  /**
   * True when the view replaces the card that was clicked for everyone who sees it; false for an
   * answer meant only for the person who clicked (a refusal), which leaves the card as it is.
   */
  readonly replace: boolean;
  /**
   * For a click: post the view as a new message (the clicked card stays as it is) and let the
   * follow-up update that new message. A sync started from an alert or status card does this,
   * so the alert can still turn into "Resolved" and the sync's result has its own card.
   */
  readonly asNewMessage?: boolean;
  /** Work that goes on after the acknowledgement (a sync): it updates the posted message as it goes. */
  readonly followUp?: (update: UpdateView) => Promise<void>;
}

export const reply = (view: View, followUp?: Reply['followUp']): Reply => (followUp ? { view, replace: true, followUp } : { view, replace: true });
