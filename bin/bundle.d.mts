// The types of bin/bundle.mjs (plain JavaScript, run before anything else is loaded).

/** File URLs of groupsync's entry modules: the CLI, the service and a sync's worker thread. */
export interface Modules {
  readonly cli: string;
  readonly service: string;
  readonly worker: string;
}

/** The bundle's entry modules, when a bundle exists and none of its inputs changed since it was built. */
export function freshBundle(): Modules | null;
/** Bundles groupsync into a new dist/cli/<build>/ and points the stamp at it. */
export function buildBundle(): Promise<Modules>;
/**
 * The bundle's entry modules, built first when stale, the build held against removal while this
 * process lives; the TypeScript entries when none can be made.
 */
export function bundleModules(options?: {
  /** Say on stderr why the sources run, also when that is expected (no esbuild, a read-only installation): npm start does. */
  readonly always?: boolean;
}): Promise<Modules>;
/** The TypeScript entries. */
export function sourceModules(): Modules;
