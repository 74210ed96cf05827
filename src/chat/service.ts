/**
 * The chat command layer both surfaces call: text or a click in, a reply with a neutral view out.
 * It parses once, checks the role, runs the handler and turns every error into a view that says
 * what went wrong and what to type instead. Surfaces only translate to and from their wire format.
 */
import { GroupsyncError, describeError, isGroupsyncError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Operations } from '../ops/operations.ts';
import type { ConversationInput } from '../store/conversations.ts';
import type { Db } from '../store/db.ts';
import { type Verb, VERB_ROLES, VERB_TITLES, handleAction, isVerb, searchChoices } from './commands/actions.ts';
import type { ChatContext, Reply } from './commands/context.ts';
import { handleCommand } from './commands/handlers.ts';
import { usageText } from './commands/notation.ts';
import { parseCommand } from './commands/parse.ts';
import { UsageError, roleOf, specOf } from './commands/spec.ts';
import { type Authorizer, type ChatUser, actorOf } from './auth.ts';
import { loadHome } from './home.ts';
import { buildMessage } from './views/build.ts';
import type { HomeView } from './views/home.ts';
import type { NoticeView, View } from './views/types.ts';

export interface ChatServiceDeps {
  readonly ops: Operations;
  readonly db: Db;
  readonly auth: Authorizer;
  readonly logger: Logger;
  readonly now?: () => Date;
  /** Told of each command or click answered (the service's metrics). */
  readonly onRequest?: (surface: ChatUser['surface'], outcome: ChatOutcome) => void;
  /** Told after an admin's command or click succeeded (it may have changed what a home shows). */
  readonly onChange?: () => void;
}

/**
 * How a request was answered: as asked; not understood (usage); not allowed; refused by the
 * product (not found, already running, directory unreachable…); or an unexpected error (logged).
 */
export type ChatOutcome = 'ok' | 'invalid' | 'refused' | 'failed' | 'error';

export function outcomeOf(error: unknown): ChatOutcome {
  if (error instanceof UsageError) return 'invalid';
  if (isGroupsyncError(error, 'FORBIDDEN')) return 'refused';
  return error instanceof GroupsyncError ? 'failed' : 'error';
}

export interface Invocation {
  readonly user: ChatUser;
  readonly conversation: ConversationInput | null;
}

export class ChatService {
  readonly #deps: ChatServiceDeps;
  readonly #now: () => Date;

  constructor(deps: ChatServiceDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? (() => new Date());
  }

  #context(inv: Invocation): ChatContext {
    return { ops: this.#deps.ops, db: this.#deps.db, logger: this.#deps.logger, now: this.#now, user: inv.user, actor: actorOf(inv.user), conversation: inv.conversation };
  }

  /** A typed command. */
  async handleText(inv: Invocation, text: string): Promise<Reply> {
    const log = this.#deps.logger.child({ surface: inv.user.surface, user: inv.user.id });
    let commandName = '?';
    try {
      const command = parseCommand(text);
      commandName = command.name;
      await this.#deps.auth.require(inv.user, roleOf(command), `"${command.name}"`);
      const result = await handleCommand(this.#context(inv), command);
      log.info({ command: command.name }, 'chat command');
      this.#deps.onRequest?.(inv.user.surface, 'ok');
      // A sync tells when its run ends (the run events); anything else an admin does, now.
      if (roleOf(command) === 'admin' && !result.followUp) this.#deps.onChange?.();
      return result;
    } catch (error) {
      this.#deps.onRequest?.(inv.user.surface, outcomeOf(error));
      return { view: this.#errorView(error, commandName, log), replace: true };
    }
  }

  /** A button click: the view replaces the card, unless the answer is only for the clicker (a refusal). */
  async handleAction(inv: Invocation, verb: string, data: unknown): Promise<Reply> {
    const log = this.#deps.logger.child({ surface: inv.user.surface, user: inv.user.id });
    if (!isVerb(verb)) {
      this.#deps.onRequest?.(inv.user.surface, 'invalid');
      return { view: buildMessage('Unknown button', `this card's button "${verb.slice(0, 40)}" is not one groupsync knows; type "help" for the commands`, 'attention'), replace: false };
    }
    try {
      await this.#deps.auth.require(inv.user, VERB_ROLES[verb as Verb], VERB_TITLES[verb as Verb]);
    } catch (error) {
      log.warn({ verb }, 'chat button refused');
      this.#deps.onRequest?.(inv.user.surface, outcomeOf(error));
      return { view: this.#errorView(error, verb, log), replace: false };
    }
    try {
      const result = await handleAction(this.#context(inv), verb, data);
      log.info({ verb }, 'chat button');
      this.#deps.onRequest?.(inv.user.surface, 'ok');
      if (VERB_ROLES[verb as Verb] === 'admin' && !result.followUp) this.#deps.onChange?.();
      return result;
    } catch (error) {
      this.#deps.onRequest?.(inv.user.surface, outcomeOf(error));
      return { view: this.#errorView(error, verb, log), replace: false };
    }
  }

  /**
   * A search list's choices (Teams Data.Query, Slack options): for admins only, since it lists
   * local users and serves only to map one; anyone else gets an empty list.
   */
  async search(inv: Invocation, dataset: string, text: string): Promise<Array<{ title: string; value: string }>> {
    const log = this.#deps.logger.child({ surface: inv.user.surface, user: inv.user.id });
    try {
      await this.#deps.auth.require(inv.user, 'admin', 'Searching local users');
      return await searchChoices(this.#context(inv), dataset, text);
    } catch (error) {
      log.warn({ dataset, err: describeError(error) }, 'chat search refused or failed');
      return [];
    }
  }

  /** The user's home: what it shows depends on their role (admin, viewer, neither). */
  home(inv: Invocation, notice: NoticeView | null = null): Promise<HomeView> {
    return loadHome({ ops: this.#deps.ops, auth: this.#deps.auth, now: this.#now }, inv.user, notice);
  }

  #errorView(error: unknown, what: string, log: Logger): View {
    if (error instanceof UsageError) {
      const usage = error.usage ?? specOf(what)?.usage ?? null;
      return buildMessage('I did not understand that', error.message, 'attention', [
        ...(usage ? [{ label: 'Usage', value: usageText(usage) }] : []),
        { label: 'Help', value: 'type "help" for every command, with examples' },
      ]);
    }
    if (isGroupsyncError(error, 'FORBIDDEN')) return buildMessage('Not allowed', error.message, 'attention');
    if (error instanceof GroupsyncError) {
      const titles: Partial<Record<string, string>> = {
        NOT_FOUND: 'Not found',
        DIRECTORY_NOT_FOUND: 'Not found in the directory',
        AMBIGUOUS: 'More than one match',
        INVALID_STATE: 'Nothing to do',
        INVALID_ARGUMENT: 'Cannot do that',
        ALREADY_RUNNING: 'Already running',
        AWAITING_APPROVAL: 'Awaiting approval',
        DIRECTORY_UNREACHABLE: 'Directory unreachable',
        DIRECTORY_AUTH_FAILED: 'Directory refused the credentials',
      };
      return buildMessage(titles[error.code] ?? 'Failed', error.message, ['INVALID_STATE', 'ALREADY_RUNNING', 'AWAITING_APPROVAL'].includes(error.code) ? 'warning' : 'attention');
    }
    log.error({ err: describeError(error), what }, 'chat request failed');
    return buildMessage('Something went wrong', `${describeError(error)} (logged; nothing else was changed)`, 'attention');
  }
}
