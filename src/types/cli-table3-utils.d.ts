// cli-table3's own string width (ANSI colour codes stripped, East Asian wide characters and emoji
// counted as two columns, the widest line of a multi-line text), used by src/cli/table.ts.
declare module 'cli-table3/src/utils.js' {
  const utils: { strlen(text: string): number };
  export default utils;
}
