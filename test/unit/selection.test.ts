/**
 * A sync of groups that are not linked is refused with a short answer: the closest few names,
 * never the list of every linked group (a directory with thousands of links once printed 39 KB).
 */
import { describe, expect, it } from 'vitest';
import type { LinkState } from '../../src/domain/plan.ts';
import { notLinked } from '../../src/sync/selection.ts';

const link = (name: string, id: number): LinkState => ({
  id,
  directoryId: `id-${id}`,
  dn: `cn=${name},ou=groups,dc=example,dc=org`,
  name,
  description: null,
  kind: 'group',
  origin: 'scope',
  localGroupId: id,
});

/** 3,000 linked groups with long names: their list alone is over 100 KB. */
const LINKS = Array.from({ length: 3000 }, (_, i) => link(`department-${String(i).padStart(4, '0')}-${'x'.repeat(30)}`, i + 1));

describe('notLinked over thousands of linked groups', () => {
  it.each([
    { what: 'a name close to some', missing: ['department-0042'], says: /^"department-0042" is not a group linked to "corp"; closest: department-0042-x+…?/ },
    { what: 'a name close to none', missing: ['nosuchgroup'], says: /^"nosuchgroup" is not a group linked to "corp"; no linked group has a close name \(3000 linked; "health --all" lists them\)$/ },
    { what: 'many names at once', missing: Array.from({ length: 500 }, (_, i) => `missing-${i}`), says: /^"missing-0", "missing-1", "missing-2" and 497 more are not groups linked to "corp"/ },
    { what: 'a 100 KB name', missing: ['y'.repeat(100_000)], says: /^"y{60}…" is not a group linked to "corp"/ },
  ])('$what: a short answer', ({ missing, says }) => {
    const message = notLinked('corp', missing, LINKS).message;
    expect(message).toMatch(says);
    expect(message.length).toBeLessThan(600);
  });
});
