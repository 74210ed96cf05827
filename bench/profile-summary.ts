// Summarises a V8 .cpuprofile (from `node --cpu-prof`): the top functions by self time, and self
// time per package / source area (groupsync's src/, each node_modules package, Node internals,
// GC, idle).
//
// Usage: node bench/profile-summary.ts <file.cpuprofile> [--top N]
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTimeRow {
  readonly function: string;
  readonly location: string;
  readonly area: string;
  readonly selfMs: number;
  readonly percent: number;
}

export interface ProfileSummary {
  readonly file: string;
  readonly totalMs: number;
  readonly top: SelfTimeRow[];
  /**
   * Time charged to the nearest groupsync frame (src/) on the stack: its own time plus that of
   * the library and Node code it called (not of deeper src/ frames). Says which groupsync code
   * drives, say, postgres.js or drizzle-orm time.
   */
  readonly bySrcCaller: Array<{ function: string; location: string; ms: number; percent: number }>;
  readonly areas: Array<{ area: string; selfMs: number; percent: number }>;
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SRC_URL = new URL('../src/', import.meta.url).href;

function location(frame: CallFrame): string {
  if (!frame.url) return '';
  let path = frame.url;
  if (path.startsWith('file://')) path = relative(ROOT, fileURLToPath(path));
  return `${path}:${frame.lineNumber + 1}`;
}

/** Where a frame's code lives: src/<dir>, a node_modules package, node internals, or a V8 pseudo-frame. */
function area(frame: CallFrame): string {
  const url = frame.url;
  if (!url) return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  const src = /\/(src|bench|test)\/(?:([^/]+)\/)?/.exec(url);
  if (src) return src[2] && !src[2].endsWith('.ts') ? `${src[1]}/${src[2]}` : src[1]!;
  return url;
}

export function summarizeProfile(file: string, top = 20): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  // Sample i lasts until sample i+1 (timeDeltas[i+1] µs); the last one gets the mean.
  const n = profile.samples.length;
  const mean = n ? (profile.endTime - profile.startTime) / n : 0;
  for (let i = 0; i < n; i++) {
    const us = i + 1 < n ? profile.timeDeltas[i + 1]! : mean;
    const id = profile.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + us);
  }
  const functions = new Map<string, { function: string; location: string; area: string; us: number }>();
  const areas = new Map<string, number>();
  let totalUs = 0;
  for (const [id, us] of self) {
    const frame = byId.get(id)!.callFrame;
    const loc = location(frame);
    const key = `${frame.functionName}@${loc}`;
    const row = functions.get(key) ?? { function: frame.functionName || '(anonymous)', location: loc, area: area(frame), us: 0 };
    row.us += us;
    functions.set(key, row);
    areas.set(row.area, (areas.get(row.area) ?? 0) + us);
    totalUs += us;
  }
  const pct = (us: number) => (totalUs ? Math.round((us / totalUs) * 1000) / 10 : 0);

  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const srcCaller = new Map<number, ProfileNode | null>();
  const callerOf = (id: number): ProfileNode | null => {
    if (srcCaller.has(id)) return srcCaller.get(id)!;
    const node = byId.get(id)!;
    const up = parent.get(id);
    const found = node.callFrame.url.startsWith(SRC_URL) ? node : up === undefined ? null : callerOf(up);
    srcCaller.set(id, found);
    return found;
  };
  const bySrc = new Map<string, { function: string; location: string; us: number }>();
  for (const [id, us] of self) {
    const caller = callerOf(id);
    const name = caller ? caller.callFrame.functionName || '(anonymous)' : '(no groupsync frame: start-up, GC, idle, I/O callbacks)';
    const loc = caller ? location(caller.callFrame) : '';
    const key = `${name}@${loc}`;
    const row = bySrc.get(key) ?? { function: name, location: loc, us: 0 };
    row.us += us;
    bySrc.set(key, row);
  }
  return {
    file,
    totalMs: Math.round(totalUs / 1000),
    top: [...functions.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((r) => ({ function: r.function, location: r.location, area: r.area, selfMs: Math.round(r.us / 1000), percent: pct(r.us) })),
    bySrcCaller: [...bySrc.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((r) => ({ function: r.function, location: r.location, ms: Math.round(r.us / 1000), percent: pct(r.us) })),
    areas: [...areas.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([name, us]) => ({ area: name, selfMs: Math.round(us / 1000), percent: pct(us) })),
  };
}

export function formatSummary(summary: ProfileSummary, areaRows = 12): string {
  const lines = [`${summary.file}: ${summary.totalMs} ms sampled`, '', '  self ms      %  function                          location'];
  for (const r of summary.top) {
    lines.push(`  ${String(r.selfMs).padStart(7)} ${r.percent.toFixed(1).padStart(6)}  ${r.function.slice(0, 32).padEnd(32)}  ${r.location || r.area}`);
  }
  lines.push('', '  incl ms      %  nearest groupsync caller (own time + the library code it called)');
  for (const r of summary.bySrcCaller.slice(0, 12)) lines.push(`  ${String(r.ms).padStart(7)} ${r.percent.toFixed(1).padStart(6)}  ${r.function.slice(0, 32).padEnd(32)}  ${r.location}`);
  lines.push('', '  self ms      %  area');
  for (const a of summary.areas.slice(0, areaRows)) lines.push(`  ${String(a.selfMs).padStart(7)} ${a.percent.toFixed(1).padStart(6)}  ${a.area}`);
  return lines.join('\n');
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const topAt = args.indexOf('--top');
  const top = topAt >= 0 ? Number(args.splice(topAt, 2)[1]) : 20;
  if (args.length === 0) {
    process.stderr.write('usage: node bench/profile-summary.ts <file.cpuprofile> [--top N]\n');
    process.exitCode = 2;
  }
  for (const file of args) process.stdout.write(`${formatSummary(summarizeProfile(file, top))}\n\n`);
}
