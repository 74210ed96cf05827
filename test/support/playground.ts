/**
 * The Microsoft 365 Agents Playground (npm `@microsoft/m365agentsplayground`) as a local Teams
 * stand-in for browser tests, and a headless Debian Chromium driven by playwright-core.
 *
 * The Playground is one Node process serving its web UI at `/` and a mocked Bot Connector at
 * `/_connector` (the serviceUrl of the activities it sends to BOT_ENDPOINT). With no client id it
 * neither sends nor checks tokens, which fits the bot's local mode (no MICROSOFT_APP_ID).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { removeDir, startWatchdog, type Watchdog } from './proc.ts';

/**
 * The Playground's signed-in user ("currentUser" of its default config, 0.2.x). Its AAD object id
 * has 13 digits in the last group: it is not a valid GUID, but it is what the Playground sends.
 */
export const PLAYGROUND_USER = {
  id: 'user-id-0',
  name: 'Alex Wilber',
  aadObjectId: '00000000-0000-0000-0000-0000000000020',
} as const;

export const CHROMIUM = '/usr/bin/chromium';
/** Without the background-networking flags Chromium's connections are refused on a closed network. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const require = createRequire(import.meta.url);

export interface PlaygroundHandle {
  /** The web UI, e.g. http://127.0.0.1:40123 */
  readonly url: string;
  readonly port: number;
  /** The Playground's stdout/stderr so far (for failure messages). */
  output(): string;
  /** Its own log file (requests to and from the bot), for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

function cliPath(): string {
  return join(dirname(require.resolve('@microsoft/m365agentsplayground/package.json')), 'cli.js');
}

/** The installed Playground's version (from its package.json). */
export function playgroundVersion(): string {
  return (JSON.parse(readFileSync(require.resolve('@microsoft/m365agentsplayground/package.json'), 'utf8')) as { version: string }).version;
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/**
 * Starts the Playground on a random free port (`-p 0`), as the Teams channel, pointed at
 * `botEndpoint`, with no browser opened (TEAMSAPPTESTER_BROWSER=none) and no telemetry. It runs
 * in a throw-away directory: it reads `.m365agentsplayground.yml` from its cwd and writes its log
 * under it. Resolves once its UI answers.
 */
export async function startPlayground(botEndpoint: string, timeoutMs = 30_000): Promise<PlaygroundHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'groupsync-playground-'));
  const logFile = join(dir, 'playground.log');
  const child = spawn(process.execPath, [cliPath(), '--port', '0', '--channel-id', 'msteams', '--disable-telemetry'], {
    cwd: dir,
    env: {
      ...process.env,
      BOT_ENDPOINT: botEndpoint,
      TEAMSAPPTESTER_BROWSER: 'none',
      M365_AGENTS_PLAYGROUND_LOGFILE: logFile,
      NODE_OPTIONS: '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const watchdog: Watchdog | null = child.pid ? startWatchdog([child.pid], [dir]) : null;
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString('utf8')));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString('utf8')));
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const stop = async () => {
    if (!exited(child)) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await gone;
      clearTimeout(timer);
    }
    watchdog?.disarm();
    removeDir(dir);
  };

  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the Playground did not start within ${timeoutMs} ms:\n${out}`)), timeoutMs);
      const check = () => {
        const m = /Listening on (\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      };
      child.stdout!.on('data', check);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`the Playground exited (${signal ?? `exit ${code}`}) before listening:\n${out}`));
      });
      check();
    });
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
        if (r.ok && /Agents Playground/.test(await r.text())) break;
      } catch {
        /* not yet */
      }
      if (exited(child) || Date.now() > deadline) throw new Error(`the Playground UI did not answer at ${url}:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return {
      url,
      port,
      output: () => out,
      log: () => {
        try {
          return readFileSync(logFile, 'utf8');
        } catch {
          return '';
        }
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

export interface BrowserHandle {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Messages the page logged and errors it threw (for failure messages). */
  readonly console: string[];
  close(): Promise<void>;
}

/** Debian's Chromium, headless, with a fresh profile; one page. */
export async function launchChromium(): Promise<BrowserHandle> {
  const profile = mkdtempSync(join(tmpdir(), 'groupsync-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1400, height: 1000 },
      timeout: 60_000,
    });
  } catch (error) {
    removeDir(profile);
    throw error;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  const messages: string[] = [];
  page.on('console', (m) => messages.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => messages.push(`pageerror: ${e.message}`));
  return {
    context,
    page,
    console: messages,
    async close() {
      try {
        await context.close();
      } finally {
        removeDir(profile);
      }
    },
  };
}

/** The folder for the browser test's screenshots (gitignored). */
export function artifactsDir(name: string): string {
  const dir = join(process.cwd(), 'test', 'artifacts', name);
  mkdirSync(dir, { recursive: true });
  return dir;
}
