/**
 * Socket Mode, chosen by configuration: the surface mounts no route, opens the WebSocket URL that
 * apps.connections.open (with the app token) gives it, acknowledges each envelope on the socket
 * and answers through the Web API, as in HTTP mode. Slack's socket end is a loopback ws server.
 */
import type { AddressInfo } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { type WebSocket, WebSocketServer } from 'ws';
import { createSlackSurface } from '../../src/chat/slack/app.ts';
import { silentLogger } from '../../src/logger.ts';
import { ADMIN, BOT_TOKEN, CHANNEL, VIEWER, slashCommand } from '../support/slack.ts';
import { SlackApi, blockTexts } from '../support/slack-api.ts';
import { type SlackTestService, startSlackService } from '../support/slack-service.ts';

let api: SlackApi | null = null;
let service: SlackTestService | null = null;
let wss: WebSocketServer | null = null;

afterEach(async () => {
  await service?.close();
  await api?.stop();
  await new Promise<void>((resolve) => (wss ? wss.close(() => resolve()) : resolve()));
  service = null;
  api = null;
  wss = null;
});

it('connects with the app token, acknowledges a slash command envelope on the socket and posts the answer', async () => {
  api = await new SlackApi().start();
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss!.once('listening', () => resolve()));
  api.socketUrl = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/link`;
  const connected = new Promise<WebSocket>((resolve) =>
    wss!.on('connection', (socket) => {
      socket.send(JSON.stringify({ type: 'hello', num_connections: 1, debug_info: { host: 'loopback' }, connection_info: { app_id: 'A0GROUPSYNC' } }));
      resolve(socket);
    }),
  );
  service = await startSlackService('postgres', [], {
    slack: { botToken: BOT_TOKEN, mode: 'socket', signingSecret: null, appToken: 'xapp-1-A0GROUPSYNC-1-abc', apiUrl: api.url },
    chat: { admins: { slack: [ADMIN.id] }, viewers: { slack: [VIEWER.id] } },
  });
  expect(service.slack.route).toBeNull();
  const socket = await connected;
  expect(api.ok('apps.connections.open')).toHaveLength(1);

  const acks: Array<{ envelope_id: string; at: number }> = [];
  socket.on('message', (data) => acks.push({ ...(JSON.parse(String(data)) as { envelope_id: string }), at: Date.now() }));
  const payload = Object.fromEntries(new URLSearchParams(slashCommand('help', { responseUrl: api.responseUrl('socket') }).body));
  const sentAt = Date.now();
  socket.send(JSON.stringify({ envelope_id: 'env-1', type: 'slash_commands', accepts_response_payload: true, payload }));
  const posted = await api.waitFor((calls) => calls.find((c) => c.method === 'chat.postMessage' && c.status === 200));
  await service.slack.idle();
  expect(acks.map((a) => a.envelope_id)).toEqual(['env-1']);
  expect(acks[0]!.at - sentAt).toBeLessThan(3000);
  expect(posted.params.channel).toBe(CHANNEL.id);
  expect(blockTexts(posted.params.blocks)[0]).toBe('groupsync commands');
});

it('refuses a configuration without the token its mode needs, at construction', () => {
  expect(() =>
    createSlackSurface({ config: { botToken: BOT_TOKEN, mode: 'socket', signingSecret: null, appToken: null, apiUrl: null }, chat: null as never, db: null as never, logger: silentLogger }),
  ).toThrow(/Socket Mode needs the app-level token \(SLACK_APP_TOKEN/);
  expect(() =>
    createSlackSurface({ config: { botToken: BOT_TOKEN, mode: 'http', signingSecret: null, appToken: null, apiUrl: null }, chat: null as never, db: null as never, logger: silentLogger }),
  ).toThrow(/HTTP mode needs the signing secret/);
});
