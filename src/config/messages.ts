/**
 * How a configuration mistake reads: one error map for every schema of the environment and the
 * config file, so that no message is zod's own ("Invalid input: expected number, received NaN").
 * Each says what is wrong in plain words and what to write instead. Messages a schema sets itself
 * (a duration, an environment variable's name, a cron expression) win over these.
 */
import type { z } from 'zod';

type RawIssue = z.core.$ZodRawIssue;

const KIND: Record<string, string> = {
  string: 'text (in quotes if it could be read as something else)',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list (one "- item" per line, or [a, b])',
  object: 'a section of settings (indented "key: value" lines)',
};

/** What the input was, in the words of the file: "empty", "the text "abc"", "the number 3". */
function found(input: unknown): string {
  if (input === null) return 'empty';
  if (typeof input === 'string') return `the text "${input.length > 40 ? `${input.slice(0, 40)}…` : input}"`;
  if (typeof input === 'number' || typeof input === 'boolean') return `${typeof input === 'number' ? 'the number ' : ''}${String(input)}`;
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'a section';
  return typeof input;
}

function typeMessage(issue: Extract<RawIssue, { code: 'invalid_type' }>): string {
  const kind = KIND[issue.expected] ?? issue.expected;
  if (issue.input === undefined) return `is missing; add it (${kind})`;
  // A coerced number (PORT=abc) arrives as NaN: say what was written is not a number.
  if ((issue as { received?: unknown }).received === 'NaN') return `must be ${kind}, such as 3978; write digits only`;
  if (issue.input === null) return `has no value (nothing after the colon); write ${kind} or remove the line`;
  return `must be ${kind}, not ${found(issue.input)}`;
}

function sizeMessage(issue: Extract<RawIssue, { code: 'too_big' | 'too_small' }>): string {
  const big = issue.code === 'too_big';
  const limit = big ? issue.maximum : issue.minimum;
  const inclusive = issue.inclusive !== false;
  const bound = big ? (inclusive ? 'at most' : 'less than') : inclusive ? 'at least' : 'more than';
  switch (issue.origin) {
    case 'string':
      return !big && Number(limit) === 1 ? 'must not be empty; write a value or remove the line' : `must be ${bound} ${String(limit)} characters long`;
    case 'array':
    case 'set':
      return !big && Number(limit) === 1 ? 'must list at least one item' : `must list ${bound} ${String(limit)} items`;
    default:
      return `must be ${bound} ${String(limit)}${issue.input === undefined ? '' : ` (it is ${String(issue.input)})`}; write a number in range`;
  }
}

/** The plain message for an issue a schema left without its own. */
export function plainMessage(issue: RawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return typeMessage(issue);
    case 'too_big':
    case 'too_small':
      return sizeMessage(issue);
    case 'invalid_value': {
      const values = issue.values.map((v) => JSON.stringify(v));
      const list = values.length > 1 ? `${values.slice(0, -1).join(', ')} or ${values.at(-1)}` : (values[0] ?? '');
      return `must be ${list}${issue.input === undefined ? '' : `, not ${found(issue.input)}`}`;
    }
    case 'invalid_format':
      return issue.format === 'url' ? 'must be a URL such as https://example.com/api/' : `must be a valid ${issue.format}`;
    case 'invalid_union':
      return 'is not in any of the accepted forms; see docs/configuration.md for this setting';
    case 'not_multiple_of':
      return `must be a multiple of ${String(issue.divisor)}`;
    default:
      return undefined;
  }
}

/** "connections[0].tls.caFile" for a path; "(top level)" for none. */
export function issuePath(path: readonly PropertyKey[]): string {
  if (!path.length) return '(top level)';
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
}

/** One line per problem, unknown keys each named as the field, with what to do. */
export function issueLines(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.flatMap((issue) => {
    const where = issuePath(issue.path);
    if (issue.code === 'unrecognized_keys') {
      // Name each unknown key as the field, and say what to do (zod's own message names neither).
      return issue.keys.map((key) => `  ${issue.path.length ? `${where}.${key}` : key}: "${key}" is not a known setting here; check its spelling or remove it`);
    }
    return [`  ${where}: ${issue.message}`];
  });
}
