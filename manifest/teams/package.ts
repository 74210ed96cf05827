/**
 * Builds the Teams app package (manifest.json + icons, zipped) from environment values:
 *   MICROSOFT_APP_ID   the Azure Bot's app id (required)
 *   BOT_DOMAIN         the public host that serves /api/messages, e.g. groupsync.contoso.com (required)
 *   TEAMS_APP_ID       the Teams app id (default: MICROSOFT_APP_ID)
 *   APP_VERSION        default: package.json version
 *   DEVELOPER_NAME, DEVELOPER_URL, PRIVACY_URL, TERMS_URL   publisher details (defaults on BOT_DOMAIN)
 * Run: npm run teams:package  → manifest/teams/build/groupsync-teams.zip
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { strToU8, zipSync } from 'fflate';
import { loadDotEnv } from '../../src/config.ts';

const DIR = import.meta.dirname;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function pngSize(file: string): { width: number; height: number } {
  const b = readFileSync(file);
  if (b.subarray(1, 4).toString('latin1') !== 'PNG') throw new Error(`${file} is not a PNG`);
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

export function buildTeamsPackage(env: Record<string, string | undefined>, dir = DIR): { zip: Uint8Array; manifest: Record<string, unknown> } {
  const problems: string[] = [];
  const appId = env.MICROSOFT_APP_ID?.trim() ?? '';
  if (!GUID.test(appId)) problems.push('MICROSOFT_APP_ID must be the Azure Bot registration\'s app id (a GUID)');
  const domain = env.BOT_DOMAIN?.trim() ?? '';
  if (!/^[a-z0-9.-]+(:\d+)?$/i.test(domain)) problems.push('BOT_DOMAIN must be the public host name that serves /api/messages, e.g. groupsync.contoso.com (no https://, no path)');
  const teamsAppId = env.TEAMS_APP_ID?.trim() || appId;
  if (teamsAppId && !GUID.test(teamsAppId)) problems.push('TEAMS_APP_ID must be a GUID');
  if (problems.length) throw new Error(`cannot build the Teams app package:\n  ${problems.join('\n  ')}`);
  const pkg = JSON.parse(readFileSync(path.resolve(dir, '..', '..', 'package.json'), 'utf8')) as { version: string };
  const values: Record<string, string> = {
    MICROSOFT_APP_ID: appId,
    TEAMS_APP_ID: teamsAppId,
    BOT_DOMAIN: domain,
    APP_VERSION: env.APP_VERSION?.trim() || pkg.version,
    DEVELOPER_NAME: env.DEVELOPER_NAME?.trim() || 'groupsync',
    DEVELOPER_URL: env.DEVELOPER_URL?.trim() || `https://${domain}/`,
    PRIVACY_URL: env.PRIVACY_URL?.trim() || `https://${domain}/privacy`,
    TERMS_URL: env.TERMS_URL?.trim() || `https://${domain}/terms`,
  };
  const template = readFileSync(path.join(dir, 'manifest.json'), 'utf8');
  const text = template.replace(/\{\{([A-Z_]+)\}\}/g, (whole, name: string) => values[name] ?? whole);
  const left = text.match(/\{\{[A-Z_]+\}\}/g);
  if (left) throw new Error(`manifest.json has placeholders without a value: ${[...new Set(left)].join(', ')}`);
  const manifest = JSON.parse(text) as Record<string, unknown>;
  const color = pngSize(path.join(dir, 'color.png'));
  const outline = pngSize(path.join(dir, 'outline.png'));
  if (color.width !== 192 || color.height !== 192) throw new Error('color.png must be 192×192');
  if (outline.width !== 32 || outline.height !== 32) throw new Error('outline.png must be 32×32');
  const zip = zipSync({
    'manifest.json': strToU8(JSON.stringify(manifest, null, 2)),
    'color.png': readFileSync(path.join(dir, 'color.png')),
    'outline.png': readFileSync(path.join(dir, 'outline.png')),
  });
  return { zip, manifest };
}

if (import.meta.main) {
  loadDotEnv();
  try {
    const { zip, manifest } = buildTeamsPackage(process.env);
    const out = path.join(DIR, 'build', 'groupsync-teams.zip');
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, zip);
    process.stdout.write(`${out} (Teams app ${String(manifest.id)} version ${String(manifest.version)}): upload it in Teams → Apps → Manage your apps → Upload an app\n`);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  }
}
