// adaptivecards-templating's types import 'adaptivecards/src/schema', which would make the compiler
// type-check adaptivecards' TypeScript sources; tsconfig "paths" points that import here instead.
export type IAdaptiveCard = Record<string, unknown>;
