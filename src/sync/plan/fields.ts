/** A directory user's fields as the plan records them, and whether a mapping row already holds them. */
import type { DirectoryUser } from '../../domain/types.ts';
import type { MappingState, UserFields } from '../../domain/plan.ts';

export function userFields(u: DirectoryUser): UserFields {
  return { directoryId: u.id, dn: u.dn, login: u.login, mail: u.mail, displayName: u.displayName, enabled: u.enabled };
}

/** Whether the mapping row holds these values (a user's fields, or the directory user itself). */
export function sameUser(a: Omit<UserFields, 'directoryId'>, m: MappingState): boolean {
  return a.dn === m.dn && a.login === m.login && a.mail === m.mail && a.displayName === m.displayName && a.enabled === m.enabled;
}
