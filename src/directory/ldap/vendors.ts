/**
 * Directory vendors: which attributes carry the stable id, login, mail, display name and the
 * disabled flag, and which object classes are users and groups. Detected from the root DSE.
 */
import type { DirectoryVendor } from '../../domain/types.ts';

export interface VendorProfile {
  readonly vendor: DirectoryVendor;
  readonly id: string;
  /** The id attribute is binary (AD objectGUID) and must be decoded. */
  readonly idIsGuid: boolean;
  readonly login: string;
  readonly mail: string;
  readonly displayName: string;
  /** Attribute marking a disabled account; `userAccountControl` is read as AD's bit field. */
  readonly disabled: string | null;
  readonly userFilter: string;
  readonly groupFilter: string;
  readonly userClasses: readonly string[];
  readonly groupClasses: readonly string[];
  readonly groupName: string;
  readonly groupDescription: string;
  readonly member: readonly string[];
  /** The server cuts large multi-valued attributes into `member;range=` chunks (AD). */
  readonly rangedMembers: boolean;
}

const activeDirectory: VendorProfile = {
  vendor: 'active-directory',
  id: 'objectGUID',
  idIsGuid: true,
  login: 'sAMAccountName',
  mail: 'mail',
  displayName: 'displayName',
  disabled: 'userAccountControl',
  userFilter: '(&(objectCategory=person)(objectClass=user))',
  groupFilter: '(objectClass=group)',
  userClasses: ['user'],
  groupClasses: ['group'],
  groupName: 'cn',
  groupDescription: 'description',
  member: ['member'],
  rangedMembers: true,
};

const openldap: VendorProfile = {
  vendor: 'openldap',
  id: 'entryUUID',
  idIsGuid: false,
  login: 'uid',
  mail: 'mail',
  displayName: 'displayName',
  disabled: 'pwdAccountLockedTime',
  userFilter: '(|(objectClass=inetOrgPerson)(objectClass=posixAccount)(objectClass=person))',
  groupFilter: '(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))',
  userClasses: ['inetorgperson', 'posixaccount', 'person', 'organizationalperson'],
  groupClasses: ['groupofnames', 'groupofuniquenames'],
  groupName: 'cn',
  groupDescription: 'description',
  member: ['member', 'uniqueMember'],
  rangedMembers: false,
};

const ds389: VendorProfile = {
  ...openldap,
  vendor: '389ds',
  id: 'nsUniqueId',
  disabled: 'nsAccountLock',
};

export const VENDOR_PROFILES: Readonly<Record<'active-directory' | 'openldap' | '389ds' | 'generic', VendorProfile>> = {
  'active-directory': activeDirectory,
  openldap,
  '389ds': ds389,
  generic: { ...openldap, vendor: 'generic' },
};

export interface RootDse {
  readonly supportedCapabilities: readonly string[];
  readonly vendorName: string | null;
  readonly objectClass: readonly string[];
  readonly defaultNamingContext: string | null;
  readonly namingContexts: readonly string[];
}

// LDAP_CAP_ACTIVE_DIRECTORY_OID: AD DS (and Samba AD). AD LDS announces 1.2.840.113556.1.4.1851
// instead and has neither sAMAccountName nor userAccountControl semantics, so it is not AD here.
const AD_CAPABILITIES = ['1.2.840.113556.1.4.800'];

/** Active Directory (and Samba AD) announce AD capability OIDs; OpenLDAP its root DSE class; 389 its vendor name. */
export function detectVendor(dse: RootDse): 'active-directory' | 'openldap' | '389ds' | 'generic' {
  if (dse.supportedCapabilities.some((oid) => AD_CAPABILITIES.includes(oid))) return 'active-directory';
  if (dse.objectClass.some((c) => c.toLowerCase() === 'openldaprootdse')) return 'openldap';
  if (dse.vendorName && /389|fedora|red hat|netscape/i.test(dse.vendorName)) return '389ds';
  return 'generic';
}

export interface AttributeOverrides {
  readonly id?: string | undefined;
  readonly login?: string | undefined;
  readonly mail?: string | undefined;
  readonly displayName?: string | undefined;
  readonly disabled?: string | undefined;
  readonly groupName?: string | undefined;
  readonly groupDescription?: string | undefined;
  readonly member?: string | undefined;
}

/** The vendor's profile with the connection's attribute overrides applied. */
export function resolveProfile(
  vendor: 'active-directory' | 'openldap' | '389ds' | 'generic',
  overrides: AttributeOverrides,
): VendorProfile {
  const base = VENDOR_PROFILES[vendor];
  return Object.freeze({
    ...base,
    id: overrides.id ?? base.id,
    idIsGuid: overrides.id ? overrides.id.toLowerCase() === 'objectguid' : base.idIsGuid,
    login: overrides.login ?? base.login,
    mail: overrides.mail ?? base.mail,
    displayName: overrides.displayName ?? base.displayName,
    disabled: overrides.disabled ?? base.disabled,
    groupName: overrides.groupName ?? base.groupName,
    groupDescription: overrides.groupDescription ?? base.groupDescription,
    member: overrides.member ? [overrides.member] : base.member,
  });
}
