/**
 * How a usage line is shown in chat. The command table writes placeholders as `<connection>`;
 * Teams reads `<…>` as an HTML tag and shows nothing, so chat shows them in capitals, the
 * notation of man pages and argparse: `sync CONNECTION [GROUP…] [--kind group|security]`.
 * Literal choices (`group|security`) stay as they are typed.
 */
export function usageText(usage: string): string {
  return usage
    .replace(/<([^<>]+)>/g, (_m, name: string) => placeholder(name))
    .replace(/\[([a-z][a-z ]*…?)\]/g, (_m, name: string) => `[${placeholder(name)}]`)
    .replace(/(--[a-z-]+) ([a-z]+)(?=[\]\s]|$)/g, (_m, option: string, name: string) => `${option} ${placeholder(name)}`);
}

/** `local user` → `LOCAL-USER`. */
export function placeholder(name: string): string {
  return name.trim().replace(/\s+/g, '-').toUpperCase();
}
