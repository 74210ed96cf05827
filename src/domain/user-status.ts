/** The mapping states, and `active` / `inactive`: enabled and in scope, or not (the `users` command's filter). */
export const USER_STATUSES = ['unmapped', 'conflict', 'ignored', 'inactive', 'active', 'mapped'] as const;
export type UserStatusFilter = (typeof USER_STATUSES)[number];
