/** The planner (steps under plan/): planSync, countPlan, isEmptyPlan and the plan's types. */
export * from './plan/index.ts';
