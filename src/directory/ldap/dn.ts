/** DN handling lives in domain/dn.ts (the sync layer compares DNs too); re-exported here for the LDAP readers. */
export * from '../../domain/dn.ts';
