/** The timestamp columns every table of the schema spells the same way. */
import { timestamp } from 'drizzle-orm/pg-core';

export const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
export const created = (name = 'created_at') => ts(name).notNull().defaultNow();
export const updated = () => ts('updated_at').notNull().defaultNow();
