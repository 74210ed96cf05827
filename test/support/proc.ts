// Small process helpers shared by the real-server test harness (slapd, postgres).
import { spawn, type SpawnOptions } from 'node:child_process';
import { accessSync, constants, existsSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';

export interface RunOptions {
  input?: string | Buffer;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  uid?: number;
  gid?: number;
  /** Kill the command after this many ms (default 60 s). */
  timeoutMs?: number;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

export class CommandError extends Error {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  constructor(message: string, code: number | null, stdout: string, stderr: string) {
    super(message);
    this.name = 'CommandError';
    this.code = code;
    this.stdout = stdout;
    this.stderr = stderr;
  }
}

/** Runs a command to completion; rejects with CommandError (including its output) on a non-zero exit. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const spawnOpts: SpawnOptions = {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    };
    if (opts.uid !== undefined) spawnOpts.uid = opts.uid;
    if (opts.gid !== undefined) spawnOpts.gid = opts.gid;
    const child = spawn(cmd, args, spawnOpts);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === 0) resolve({ stdout, stderr });
      else
        reject(
          new CommandError(
            `${cmd} ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${stderr || stdout}`.trimEnd(),
            code,
            stdout,
            stderr,
          ),
        );
    });
    child.stdin?.on('error', () => {
      /* the command may exit before reading its input; the exit code tells */
    });
    child.stdin?.end(opts.input ?? '');
  });
}

/** A TCP port on 127.0.0.1 that was free a moment ago (callers retry on EADDRINUSE). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('could not get a free port'));
        return;
      }
      const port = addr.port;
      srv.close(() => resolve(port));
    });
  });
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Finds an executable on PATH (plus the given extra directories, tried after PATH). */
export function which(name: string, extraDirs: readonly string[] = []): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...extraDirs];
  for (const dir of dirs) {
    const p = join(dir, name);
    if (isExecutable(p)) return p;
  }
  return undefined;
}

/** Like which() but throws a helpful error. */
export function requireBinary(name: string, extraDirs: readonly string[] = [], hint = ''): string {
  const found = which(name, extraDirs);
  if (!found) throw new Error(`'${name}' not found on PATH${extraDirs.length ? ` or in ${extraDirs.join(', ')}` : ''}. ${hint}`.trim());
  return found;
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export interface Watchdog {
  /** Disarms the watchdog (call after a normal stop). */
  disarm(): void;
}

/**
 * Starts a detached shell that waits for this Node process to die (even by SIGKILL) and then
 * cleans up after it: sends `signal` to the pids (after SIGCONT, in case they were paused),
 * SIGKILLs them after a grace period, and removes the directories.
 */
export function startWatchdog(pids: readonly number[], dirs: readonly string[], signal = 'TERM'): Watchdog {
  const script = [
    'parent="$1"; sig="$2"; pids="$3"; shift 3',
    'while kill -0 "$parent" 2>/dev/null; do sleep 1; done',
    'for p in $pids; do kill -CONT "$p" 2>/dev/null; kill -"$sig" "$p" 2>/dev/null; done',
    'i=0; while [ $i -lt 50 ]; do alive=""; for p in $pids; do kill -0 "$p" 2>/dev/null && alive=1; done; [ -z "$alive" ] && break; sleep 0.1; i=$((i+1)); done',
    'for p in $pids; do kill -KILL "$p" 2>/dev/null; done',
    'for d in "$@"; do rm -rf "$d"; done',
  ].join('\n');
  const child = spawn('/bin/sh', ['-c', script, 'groupsync-watchdog', String(process.pid), signal, pids.join(' '), ...dirs], {
    detached: true,
    stdio: 'ignore',
  });
  child.on('error', () => {
    /* best effort */
  });
  child.unref();
  let armed = true;
  return {
    disarm() {
      if (!armed) return;
      armed = false;
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    },
  };
}

export function removeDir(dir: string): void {
  if (existsSync(dir)) rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Whether a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
