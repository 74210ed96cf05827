/**
 * groupsync as an admin runs it: `npm start` (bin/start.mjs: the service from its bundle) and `node src/cli/main.ts` as
 * child processes on a data folder, and the embedded PostgreSQL server they share, seen from
 * outside (its postmaster.pid).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { postmasterPid } from '../../src/store/embedded.ts';
import { isAlive, sleep } from './proc.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A fresh data folder the server's account can reach (PostgreSQL runs as `postgres` when we are root). */
export function freshDataDir(prefix = 'groupsync-data-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}

/** The environment of an admin who configured nothing but the data folder. */
export function bareEnv(dataDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: Record<string, string | undefined> = { ...process.env, GROUPSYNC_DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info', ...extra };
  delete env.GROUPSYNC_CONFIG;
  delete env.DATABASE_URL;
  return env as NodeJS.ProcessEnv;
}

export function cli(env: NodeJS.ProcessEnv, ...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(ROOT, 'src/cli/main.ts'), ...args], { env, cwd: ROOT, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

export type LogLine = Record<string, unknown> & { msg?: string };

export class ServiceProcess {
  readonly child: ChildProcess;
  readonly lines: LogLine[] = [];
  readonly exited: Promise<number | null>;
  #waiters: Array<{ match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }> = [];

  /** `root`: the installation whose bin/start.mjs runs (this checkout unless a test made another). */
  constructor(env: NodeJS.ProcessEnv, root = ROOT) {
    this.child = spawn(process.execPath, ['--max-semi-space-size=16', '--expose-gc', path.join(root, 'bin/start.mjs')], { env, cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    let buffer = '';
    this.child.stderr!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const text = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        let line: LogLine;
        try {
          line = JSON.parse(text) as LogLine;
        } catch {
          line = { msg: text };
        }
        this.lines.push(line);
        this.#waiters = this.#waiters.filter((w) => (w.match(line) ? (w.resolve(line), false) : true));
      }
    });
  }

  /** The first log line (past or future) whose message starts with `prefix`; fails if the process exits first. */
  waitFor(prefix: string): Promise<LogLine> {
    return this.waitForLine((line) => typeof line.msg === 'string' && line.msg.startsWith(prefix), `"${prefix}"`);
  }

  /** The first line (past or future) that `match` accepts (a line that is not JSON is `{ msg: text }`); fails if the process exits first. */
  waitForLine(match: (line: LogLine) => boolean, what = 'the line'): Promise<LogLine> {
    const seen = this.lines.find(match);
    if (seen) return Promise.resolve(seen);
    return Promise.race([
      new Promise<LogLine>((resolve) => this.#waiters.push({ match, resolve })),
      this.exited.then((code) => {
        throw new Error(`service exited with ${code} before ${what}: ${JSON.stringify(this.lines)}`);
      }),
    ]);
  }

  get port(): number {
    const line = this.lines.find((l) => typeof l.msg === 'string' && l.msg.startsWith('listening: '));
    return (line?.port as number | undefined) ?? 0;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

/** Starts the service and waits until it listens. */
export async function startServiceProcess(env: NodeJS.ProcessEnv, root = ROOT): Promise<ServiceProcess> {
  const service = new ServiceProcess(env, root);
  await service.waitFor('listening: ');
  return service;
}

/** The pid of the data folder's running embedded server, or null when none runs. */
export function embeddedServerPid(dataDir: string): number | null {
  const pid = postmasterPid(path.join(dataDir, 'postgres'));
  return pid !== null && isAlive(pid) ? pid : null;
}

/** Test clean-up: stops the data folder's embedded server however the test left it. */
export async function stopEmbeddedServer(dataDir: string): Promise<void> {
  const pid = embeddedServerPid(dataDir);
  if (pid === null) return;
  process.kill(pid, 'SIGQUIT'); // immediate shutdown
  for (let i = 0; i < 100 && isAlive(pid); i++) await sleep(50);
}
