/** postgres.js clients as groupsync opens them: notices ignored, named in pg_stat_activity. */
import postgres from 'postgres';

/** A pool of up to `max` connections to `url`, shown in pg_stat_activity as `applicationName`. */
export function pgClient(url: string, max: number, applicationName = 'groupsync', options: postgres.Options<Record<string, never>> = {}): postgres.Sql {
  return postgres(url, { ...options, max, onnotice: () => {}, connection: { application_name: applicationName } });
}
