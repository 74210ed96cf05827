/** What DirSync needs to know of the domain controller: its root DSE, naming contexts and invocationId. */
import { type Client, type Entry, InsufficientAccessError, NoSuchObjectError } from 'ldapts';
import { GroupsyncError } from '../../errors.ts';
import { DIRSYNC_OID } from './dirsync-control.ts';
import { isUnder, normalizeDn } from './dn.ts';
import { decodeObjectGuid } from './transform.ts';

/** What DirSync needs from the root DSE; read by readDirSyncDse. */
export interface DirSyncDse {
  readonly supportedControl: readonly string[];
  readonly namingContexts: readonly string[];
  readonly highestCommittedUsn: bigint;
  /** The DC's invocationId (its NTDS Settings object), which changes when a DC is restored. */
  readonly invocationId: string | null;
}

/** Whether the server announces the DirSync control (Windows AD DS and Samba AD do; AD LDS does too). */
export function supportsDirSync(dse: { readonly supportedControl: readonly string[] }): boolean {
  return dse.supportedControl.includes(DIRSYNC_OID);
}

export async function readDirSyncDse(client: Client): Promise<DirSyncDse> {
  const { searchEntries } = await client.search('', {
    scope: 'base',
    filter: '(objectClass=*)',
    attributes: ['supportedControl', 'namingContexts', 'highestCommittedUSN', 'dsServiceName'],
  });
  const dse = searchEntries[0];
  const strings = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : value === undefined ? [] : [String(value)]);
  const usn = strings(dse?.highestCommittedUSN)[0];
  const service = strings(dse?.dsServiceName)[0];
  return {
    supportedControl: strings(dse?.supportedControl),
    namingContexts: strings(dse?.namingContexts),
    highestCommittedUsn: usn && /^\d+$/.test(usn) ? BigInt(usn) : 0n,
    invocationId: service ? await readInvocationId(client, service) : null,
  };
}

/** Null when the NTDS Settings object cannot be read: the cookie then checks the USN only. */
async function readInvocationId(client: Client, ntdsSettings: string): Promise<string | null> {
  let found: Entry | undefined;
  try {
    const { searchEntries } = await client.search(ntdsSettings, {
      scope: 'base',
      filter: '(objectClass=*)',
      attributes: ['invocationId'],
      explicitBufferAttributes: ['invocationId'],
    });
    found = searchEntries[0];
  } catch (error) {
    if (error instanceof NoSuchObjectError || error instanceof InsufficientAccessError) return null;
    throw error;
  }
  const value = found?.invocationId;
  return Buffer.isBuffer(value) && value.length === 16 ? decodeObjectGuid(value) : null;
}

/** The naming context DirSync must search from: the longest one holding the base. */
export function namingContextOf(base: string, namingContexts: readonly string[]): string {
  const baseKey = normalizeDn(base);
  let best: string | null = null;
  for (const nc of namingContexts) {
    if (isUnder(baseKey, normalizeDn(nc)) && (best === null || nc.length > best.length)) best = nc;
  }
  if (best === null) {
    throw new GroupsyncError('CONFIG_INVALID', `the base "${base}" lies in none of the directory's naming contexts (${namingContexts.join('; ')}); DirSync tracks a naming context`);
  }
  return best;
}
