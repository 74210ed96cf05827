/**
 * Who may do what from chat. Admins and viewers are configured by chat user id (Teams AAD
 * object id, Slack user id) or by membership of a synced directory group. Group membership is
 * read from the local store (the last sync), never from the directory at click time, so a
 * button answers fast and the answer does not depend on the directory being up.
 */
import type { ChatConfig } from '../config.ts';
import { GroupsyncError } from '../errors.ts';
import type { Db } from '../store/db.ts';
import { isMemberOfLinkedGroup } from '../store/memberships.ts';
import type { Role } from './commands/spec.ts';

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

/** The actor written to the audit log and shown on cards: surface, name and id. */
export function actorOf(user: ChatUser): string {
  const id = user.surface === 'teams' ? (user.aadObjectId ?? user.id) : user.id;
  return `${user.surface}:${user.name ? `${user.name} ` : ''}(${id})`;
}

type Principals = ChatConfig['admins'];

export class Authorizer {
  readonly #db: Db;
  readonly #chat: ChatConfig;

  constructor(deps: { db: Db; chat: ChatConfig }) {
    this.#db = deps.db;
    this.#chat = deps.chat;
  }

  /**
   * Passes when the user holds the role; else throws FORBIDDEN with a sentence saying who may do
   * it and how to get there. Admins are viewers too. A read asks the viewer lists first, so an
   * open bot (viewers.everyone) answers without a store query or a mail lookup; the mail is
   * looked up at most once per check.
   */
  async require(user: ChatUser, needed: Role, what: string): Promise<void> {
    let mail: Promise<string | null> | null = null;
    const email = () => (mail ??= user.email ? user.email() : Promise.resolve(null));
    const isViewer = async () => this.#chat.viewers.everyone || (await this.#matches(user, this.#chat.viewers, email));
    if (needed === 'viewer' && (await isViewer())) return;
    if (await this.#matches(user, this.#chat.admins, email)) return;
    const who = (user.surface === 'teams' ? `Teams user ${user.name ?? ''} (AAD object id ${user.aadObjectId ?? 'unknown'})` : `Slack user ${user.name ?? ''} (${user.id})`).replace(/\s+/g, ' ');
    if (needed === 'admin') {
      throw new GroupsyncError(
        'FORBIDDEN',
        `${what} changes the directory sync, so it is for groupsync admins only; ${who} is ${(await isViewer()) ? 'a viewer' : 'not configured'}. An admin can add this id to chat.admins in the config file.`,
      );
    }
    throw new GroupsyncError('FORBIDDEN', `${who} may not use groupsync; an admin can add this id to chat.viewers (or chat.admins) in the config file.`);
  }

  async #matches(user: ChatUser, principals: Principals, mail: () => Promise<string | null>): Promise<boolean> {
    if (user.surface === 'teams' && user.aadObjectId && principals.teams.some((id) => id.toLowerCase() === user.aadObjectId!.toLowerCase())) return true;
    if (user.surface === 'slack' && principals.slack.includes(user.id)) return true;
    if (!principals.directoryGroups.length) return false;
    const email = await mail();
    if (!user.aadObjectId && !email) return false;
    for (const g of principals.directoryGroups) {
      if (await this.#inDirectoryGroup(g.connection, g.group, user.aadObjectId, email)) return true;
    }
    return false;
  }

  /** Is a directory user with this Entra object id or mail a member of the linked group's local group? */
  async #inDirectoryGroup(connection: string, group: string, aadObjectId: string | null, email: string | null): Promise<boolean> {
    return isMemberOfLinkedGroup(this.#db, { connection, group, directoryId: aadObjectId, mail: email });
  }
}
