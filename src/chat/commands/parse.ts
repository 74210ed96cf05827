/**
 * Turns what an admin typed into a typed command, once, for every surface. Tokens come from
 * string-argv (quoted names with spaces), options from node:util parseArgs in strict mode, so an
 * unknown option or a missing value is an error with the usage line, never a guess.
 */
import { parseArgs } from 'node:util';
import { parseArgsStringToArgv } from 'string-argv';
import { clip, editDistance } from '../../errors.ts';
import { usageText } from './notation.ts';
import { COMMANDS, type Command, type CommandSpec, UsageError, specOf } from './spec.ts';

/** The longest argument accepted from chat (a DN with room to spare). */
const MAX_ARGUMENT = 512;

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'", '&apos;': "'", '&nbsp;': ' ' };

/**
 * Chat clients send more than the typed characters: Teams wraps text in HTML and turns quotes
 * into typographic ones; Slack escapes &, < and >. This gives back what the admin typed.
 */
export function normalizeChatText(text: string): string {
  return text
    .replace(/<at>[^<]*<\/at>/gi, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&(amp|lt|gt|quot|#39|apos|nbsp);/g, (e) => ENTITIES[e] ?? e)
    .replace(/[\u201C\u201D\u201E\u00AB\u00BB]/g, '"')
    .replace(/[\u2018\u2019\u201A]/g, "'")
    .replace(/[\u2013\u2014]/g, '--')
    .replace(/[\u00A0\s]+/g, ' ')
    .trim();
}

function unbalanced(text: string): boolean {
  let quote: string | null = null;
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
    }
  }
  return quote !== null;
}

function closest(name: string): CommandSpec | undefined {
  // A typo of one or two letters ("stauts", "conflict") is answered with the command meant.
  const ranked = COMMANDS.map((c) => ({ c, d: editDistance(name, c.name) })).sort((x, y) => x.d - y.d);
  const best = ranked[0];
  return best && best.d <= 2 ? best.c : undefined;
}

/** Parses one chat message; throws UsageError with a sentence and the usage line. */
export function parseCommand(input: string): Command {
  const text = normalizeChatText(input);
  if (!text) return { name: 'help', topic: null };
  if (unbalanced(text)) throw new UsageError('a quote is not closed; put names with spaces in "double quotes"', null);
  const [first, ...rest] = parseArgsStringToArgv(text);
  const word = (first ?? '').replace(/^\//, '').toLowerCase();
  const spec = specOf(word);
  // Checked before anything is echoed or compared: a 100 KB word is refused, not spelled back.
  if ([first ?? '', ...rest].some((arg) => arg.length > MAX_ARGUMENT)) throw new UsageError(`an argument is longer than ${MAX_ARGUMENT} characters`, spec?.usage ?? null);
  if (!spec) {
    const guess = word.length <= 40 ? closest(word) : undefined;
    throw new UsageError(
      guess ? `"${clip(first ?? '')}" is not a command; did you mean "${guess.name}"?` : `"${clip(first ?? '')}" is not a command; type "help" for the list`,
      guess ? guess.usage : null,
    );
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: spec.options, allowPositionals: true, strict: true });
  } catch (error) {
    // parseArgs says "Unknown option '--foo'" or "Option '--kind <value>' argument missing".
    const message = clip((error as Error).message.replace(/\. To specify a positional argument.*$/s, '').replace(/\.$/, ''), 120);
    throw new UsageError(message, spec.usage);
  }
  const args = parsed.positionals;
  if (args.length < spec.positionals.min) {
    const missing = usageText(spec.usage.match(/<[^<>]+>/g)?.[args.length] ?? 'an argument');
    throw new UsageError(`${spec.name} needs ${missing}`, spec.usage);
  }
  if (args.length > spec.positionals.max) {
    const extra = args.slice(spec.positionals.max, spec.positionals.max + 3).map((a) => `"${clip(a)}"`).join(' ');
    throw new UsageError(`${spec.name} takes ${spec.positionals.max === 0 ? 'no arguments' : `at most ${spec.positionals.max} argument${spec.positionals.max === 1 ? '' : 's'}`}; did not expect ${extra} (put a name with spaces in quotes)`, spec.usage);
  }
  return spec.build(args, parsed.values as Record<string, string | boolean | undefined>, spec.usage);
}
