/**
 * Neutral views: what a chat answer says, as plain data with display-ready text. The Teams
 * renderer turns a view into an Adaptive Card, the Slack renderer into Block Kit; both show the
 * same facts and the same buttons. No chat framework type here.
 */

export type Tone = 'good' | 'attention' | 'warning' | 'accent' | 'default';

/** A button. `verb` and `data` come back unchanged when it is clicked (see chat/commands/actions.ts). */
export interface ButtonView {
  readonly label: string;
  readonly verb: string;
  readonly data: Readonly<Record<string, string | number>>;
  readonly style?: 'positive' | 'destructive';
}

/** A message above a view: the outcome of a click, a refusal, an "already resolved". */
export interface NoticeView {
  readonly tone: Tone;
  readonly text: string;
}

/** Where a long list is: "21–40 of 134", with buttons to the neighbouring pages. */
export interface PagerView {
  readonly from: number;
  readonly to: number;
  readonly total: number;
  readonly previous: ButtonView | null;
  readonly next: ButtonView | null;
}

export interface Fact {
  readonly label: string;
  readonly value: string;
}

export interface HelpView {
  readonly type: 'help';
  readonly title: string;
  readonly intro: string;
  readonly commands: ReadonlyArray<{ readonly usage: string; readonly summary: string; readonly example: string; readonly adminOnly: boolean }>;
  readonly notice: NoticeView | null;
}

export interface HealthLinkView {
  readonly name: string;
  readonly kind: string;
  readonly status: 'green' | 'red';
  readonly members: string;
  readonly lastSync: string;
  readonly reasons: string;
}

export interface HealthConnectionView {
  readonly name: string;
  readonly kind: string;
  readonly status: 'green' | 'red';
  readonly reasons: readonly string[];
  readonly lastSync: string;
  readonly nextRun: string;
  readonly ssl: string;
  readonly linkCount: number;
  readonly redLinkCount: number;
  readonly buttons: readonly ButtonView[];
}

export interface HealthView {
  readonly type: 'health';
  readonly status: 'green' | 'red';
  readonly summary: string;
  /** Red first. */
  readonly connections: readonly HealthConnectionView[];
  /** Links of every connection, red first, one page of them. */
  readonly links: readonly (HealthLinkView & { readonly connection: string })[];
  readonly pager: PagerView | null;
  readonly notice: NoticeView | null;
}

export interface StatusView {
  readonly type: 'status';
  readonly name: string;
  readonly status: 'green' | 'red';
  readonly reasons: readonly string[];
  /** Enabled, AD type, users, conflicts, SSL status, last sync, next run, schedule… in that order. */
  readonly facts: readonly Fact[];
  /** The last attempts as a strip of status icons with times, newest first: "✅ #42 2 h ago · ❌ #41 1 d ago"; '' when there are none. */
  readonly strip: string;
  /** What the strip's icons mean (only those it shows). */
  readonly legend: string;
  /** The newest failed attempt's error, when there is one: "#41, 1 d ago: directory unreachable". */
  readonly lastError: string | null;
  readonly runningSince: string | null;
  readonly buttons: readonly ButtonView[];
  readonly notice: NoticeView | null;
}

export interface CounterRow {
  readonly label: string;
  readonly values: readonly Fact[];
}

export interface RunView {
  readonly type: 'run';
  readonly id: number;
  readonly connection: string;
  readonly status: string;
  readonly tone: Tone;
  readonly headline: string;
  /**
   * What happened, before anything else: the status in words ("applied", "dry run: nothing was
   * applied", "held for approval", "rejected by …"), the error or the reason it was held, and how
   * many entries were skipped.
   */
  readonly outcome: readonly Fact[];
  /** Trigger, started, finished, filters, decision. */
  readonly facts: readonly Fact[];
  /** "Changes", "Would change (nothing applied)"…; null when there is nothing to count (failed, rejected). */
  readonly countersTitle: string | null;
  /** groups / users / memberships counters, worded for what happened ("3 created" or "3 to create"). */
  readonly counters: readonly CounterRow[];
  /** The provisioning summary rows (impacted, success, …) of an applied run. */
  readonly summary: readonly CounterRow[];
  /** What a dry run would change, one line each (cut, with `changesNote` saying how many more). */
  readonly changes: readonly string[];
  readonly changesNote: string | null;
  /** The details (skipped entries, audit): listed on the details card (`run <id>`), behind "Show details" on a result card. */
  readonly detailsOpen: boolean;
  readonly skipped: readonly string[];
  readonly skippedPager: PagerView | null;
  readonly audit: readonly string[];
  readonly auditNote: string | null;
  readonly buttons: readonly ButtonView[];
  readonly notice: NoticeView | null;
}

export interface ProgressView {
  readonly type: 'progress';
  readonly connection: string;
  readonly runId: number | null;
  readonly text: string;
  readonly steps: readonly Fact[];
  readonly notice: NoticeView | null;
}

export interface RunsView {
  readonly type: 'runs';
  readonly connection: string;
  readonly runs: ReadonlyArray<{ readonly id: number; readonly status: string; readonly trigger: string; readonly actor: string; readonly started: string; readonly changes: string; readonly error: string; readonly button: ButtonView }>;
  readonly pager: PagerView | null;
  readonly notice: NoticeView | null;
}

/**
 * A search over a dataset whose choice acts like a button: `verb` with `data`, the chosen value
 * in `data[field]` (Teams: Input.ChoiceSet with Data.Query; Slack: external_select).
 */
export interface PickView {
  readonly label: string;
  readonly placeholder: string;
  readonly verb: string;
  readonly data: Readonly<Record<string, string | number>>;
  readonly field: string;
  readonly dataset: 'localUsers';
}

/** A local user an admin may map a directory user to: who, and what helps to choose. */
export interface CandidateView {
  readonly id: number;
  readonly name: string;
  /** "#21 · mail · active · last activity … · mapped in corp". */
  readonly detail: string;
}

export interface ConflictView {
  readonly directoryId: string;
  readonly user: string;
  readonly detail: string;
  readonly status: 'conflict' | 'unmapped';
  readonly reason: string;
  readonly candidates: readonly CandidateView[];
  readonly buttons: readonly ButtonView[];
  /** Map to any local user, found by a search. */
  readonly pick: PickView | null;
}

export interface ConflictsView {
  readonly type: 'conflicts';
  readonly connection: string;
  readonly total: number;
  /** "12 users are in conflict or unmapped." / "No conflicts and no unmapped users." */
  readonly summary: string;
  readonly items: readonly ConflictView[];
  readonly pager: PagerView | null;
  readonly notice: NoticeView | null;
}

export interface DuplicatesView {
  readonly type: 'duplicates';
  readonly connection: string;
  readonly total: number;
  readonly summary: string;
  readonly items: ReadonlyArray<{ readonly id: number; readonly name: string; readonly directoryRef: string; readonly localGroup: string; readonly detected: string; readonly buttons: readonly ButtonView[] }>;
  readonly pager: PagerView | null;
  readonly notice: NoticeView | null;
}

export interface ApprovalView {
  readonly type: 'approval';
  readonly runId: number;
  readonly connection: string;
  readonly state: 'pending' | 'approved' | 'rejected' | 'superseded';
  /** "Approval needed: …", "Approved: …", "Rejected: …", "No longer held: …". */
  readonly title: string;
  readonly reason: string;
  readonly facts: readonly Fact[];
  readonly sample: readonly string[];
  readonly sampleNote: string | null;
  readonly decision: string | null;
  readonly buttons: readonly ButtonView[];
  readonly notice: NoticeView | null;
}

export interface AlertView {
  readonly type: 'alert';
  readonly incidentId: number;
  readonly state: 'open' | 'resolved';
  readonly title: string;
  readonly connection: string;
  readonly text: string;
  /** What the incident lists (the first red links of a grouped alert), one line each. */
  readonly items: readonly string[];
  /** "…and 290 more: type "health" to see them all", when the list is cut. */
  readonly more: string | null;
  readonly facts: readonly Fact[];
  readonly buttons: readonly ButtonView[];
  readonly notice: NoticeView | null;
}

export interface MessageView {
  readonly type: 'message';
  readonly title: string;
  readonly tone: Tone;
  readonly text: string;
  readonly facts: readonly Fact[];
  readonly buttons: readonly ButtonView[];
}

/** `users <connection>`: the directory's users with their mapping status, one page. */
export interface UsersView {
  readonly type: 'users';
  readonly connection: string;
  /** "status unmapped · matching "ann"", or "" for no filter. */
  readonly filter: string;
  readonly total: number;
  readonly summary: string;
  /** `state`: "mapped → local user #12 ana", "unmapped: no local user with that mail", "ignored". */
  readonly items: ReadonlyArray<{ readonly user: string; readonly detail: string; readonly status: string; readonly state: string }>;
  readonly pager: PagerView | null;
  readonly notice: NoticeView | null;
}

/** `audit`: readable entries, newest first, one page. */
export interface AuditView {
  readonly type: 'audit';
  readonly title: string;
  readonly filter: string;
  readonly total: number;
  readonly summary: string;
  readonly entries: ReadonlyArray<{ readonly at: string; readonly text: string; readonly details: string }>;
  readonly pager: PagerView | null;
  readonly notice: NoticeView | null;
}

/** `incidents`: the open alerts, each with its failure context and a way to its run. */
export interface IncidentsView {
  readonly type: 'incidents';
  readonly total: number;
  readonly summary: string;
  readonly items: ReadonlyArray<{ readonly title: string; readonly text: string; readonly facts: readonly Fact[]; readonly buttons: readonly ButtonView[] }>;
  readonly notice: NoticeView | null;
}

/** `why <user> [<group>]`: the verdict, the user's mapping, and per group the reason, path and last change. */
export interface WhyView {
  readonly type: 'why';
  readonly title: string;
  readonly tone: Tone;
  readonly facts: readonly Fact[];
  readonly groups: ReadonlyArray<{ readonly heading: string; readonly reason: string; readonly facts: readonly Fact[] }>;
  readonly buttons: readonly ButtonView[];
  readonly notice: NoticeView | null;
}

export type View =
  | UsersView
  | AuditView
  | IncidentsView
  | WhyView
  | HelpView
  | HealthView
  | StatusView
  | RunView
  | ProgressView
  | RunsView
  | ConflictsView
  | DuplicatesView
  | ApprovalView
  | AlertView
  | MessageView;

export type ViewType = View['type'];
