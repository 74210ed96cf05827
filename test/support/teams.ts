/**
 * Teams activities for tests, built from the recorded payloads in test/fixtures/teams with the
 * parts a test varies (text, sender, conversation, serviceUrl, clicked verb and data).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

const FIXTURES = path.resolve(import.meta.dirname, '..', 'fixtures', 'teams');
const load = (name: string) => JSON.parse(readFileSync(path.join(FIXTURES, `${name}.json`), 'utf8')) as Record<string, unknown>;

export interface TeamsPerson {
  readonly id: string;
  readonly name: string;
  readonly aadObjectId: string;
}

export const ALICE: TeamsPerson = { id: '29:alice', name: 'Alice Admin', aadObjectId: '6f4b8a1e-0a3c-4b8e-9a57-0e2f4a9c1d01' };
export const VICTOR: TeamsPerson = { id: '29:victor', name: 'Victor Viewer', aadObjectId: '0b6e2b55-2f8c-4c3c-9d1e-7a8b9c0d1e02' };
export const MALLORY: TeamsPerson = { id: '29:mallory', name: 'Mallory Nobody', aadObjectId: 'd4c3b2a1-0000-4000-8000-0000000000ff' };

let counter = 0;

export function personalMessage(serviceUrl: string, text: string, from: TeamsPerson = ALICE, conversationId = 'a:personal-alice'): Record<string, unknown> {
  const a = load('message-personal');
  return { ...a, id: `msg-${++counter}`, serviceUrl, text, from, conversation: { ...(a.conversation as object), id: conversationId } };
}

export function channelMention(serviceUrl: string, text: string, from: TeamsPerson = ALICE, conversationId = '19:alerts@thread.tacv2'): Record<string, unknown> {
  const a = load('message-channel-mention');
  return { ...a, id: `msg-${++counter}`, serviceUrl, text: `<at>groupsync</at> ${text}\n`, from, conversation: { ...(a.conversation as object), id: conversationId } };
}

export function actionInvoke(serviceUrl: string, verb: string, data: Record<string, unknown>, replyToId: string, from: TeamsPerson = ALICE, conversationId = 'a:personal-alice'): Record<string, unknown> {
  const a = load('invoke-action-execute');
  return {
    ...a,
    id: `invoke-${++counter}`,
    serviceUrl,
    from,
    replyToId,
    conversation: { ...(a.conversation as object), id: conversationId },
    value: { action: { type: 'Action.Execute', title: verb, verb, data }, trigger: 'manual' },
  };
}

/** What a Teams client sends when someone types into a typeahead (Input.ChoiceSet with Data.Query). */
export function searchInvoke(serviceUrl: string, dataset: string, queryText: string, from: TeamsPerson = ALICE, conversationId = 'a:personal-alice'): Record<string, unknown> {
  const a = load('invoke-action-execute');
  return {
    ...a,
    name: 'application/search',
    id: `search-${++counter}`,
    serviceUrl,
    from,
    conversation: { ...(a.conversation as object), id: conversationId },
    value: { queryText, queryOptions: { skip: 0, top: 15 }, dataset },
  };
}

export async function postActivity(botUrl: string, activity: Record<string, unknown>, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${botUrl}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(activity) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // not JSON
  }
  return { status: res.status, body };
}

/** All TextBlock texts of a card, in order: what an admin reads. */
export function cardTexts(card: unknown): string[] {
  const out: string[] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object') return;
    const o = node as Record<string, unknown>;
    if (o.type === 'TextBlock' && typeof o.text === 'string') out.push(o.text);
    if (o.type === 'FactSet' && Array.isArray(o.facts)) for (const f of o.facts as Array<{ title: string; value: string }>) out.push(`${f.title}: ${f.value}`);
    for (const v of Object.values(o)) if (typeof v === 'object') walk(v);
  };
  walk(card);
  return out;
}

/** All Action.Execute buttons of a card. */
export function cardActions(card: unknown): Array<{ title: string; verb: string; data: Record<string, unknown> }> {
  const out: Array<{ title: string; verb: string; data: Record<string, unknown> }> = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object') return;
    const o = node as Record<string, unknown>;
    if (o.type === 'Action.Execute') out.push({ title: String(o.title), verb: String(o.verb), data: (o.data ?? {}) as Record<string, unknown> });
    for (const v of Object.values(o)) if (typeof v === 'object') walk(v);
  };
  walk(card);
  return out;
}

/** A search list: dataset, what its choice does (verb, data without the choice) and the data key the choice goes to. */
export interface Pick {
  readonly dataset: string;
  readonly verb: string;
  readonly data: Record<string, unknown>;
  readonly field: string;
}

/**
 * Every typeahead of a card (Input.ChoiceSet with Data.Query) with the Action.Execute that sends
 * its choice (the one whose data names the input in `pickInput`).
 */
export function cardPicks(card: unknown, actions = cardActions(card)): Pick[] {
  const inputs: Array<{ id: string; dataset: string }> = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object') return;
    const o = node as Record<string, unknown>;
    const query = o['choices.data'] as { type?: string; dataset?: string } | undefined;
    if (o.type === 'Input.ChoiceSet' && query?.type === 'Data.Query') inputs.push({ id: String(o.id), dataset: String(query.dataset) });
    for (const v of Object.values(o)) if (typeof v === 'object') walk(v);
  };
  walk(card);
  return inputs.map((input) => {
    const action = actions.find((a) => a.data.pickInput === input.id);
    if (!action) throw new Error(`no action sends the choice of ${input.id}`);
    const { pickInput: _input, pickField, ...data } = action.data;
    return { dataset: input.dataset, verb: action.verb, data, field: String(pickField) };
  });
}
