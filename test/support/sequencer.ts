/**
 * The order test files start in. vitest starts the files that took longest in its results cache
 * first, and without a cache (a fresh checkout: CI) the largest files first; some of the slowest
 * files are small (they wait on real servers and processes), so on CI one of them could start
 * last and run on alone at the end. These, measured slowest, start first either way; the rest
 * keep vitest's order.
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const SLOWEST = [
  'embedded-store',
  'playground',
  'slack',
  'teams',
  'embedded-processes',
  'mapping-transitions',
  'engine',
  'entra',
  'plan-digests',
  'active-directory',
  'schedule-health',
  'start',
  'alerts',
].map((name) => `/test/integration/${name}.test.ts`);

const rank = (spec: TestSpecification): number => {
  const at = SLOWEST.findIndex((end) => spec.moduleId.endsWith(end));
  return at === -1 ? SLOWEST.length : at;
};

export default class SlowestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}
