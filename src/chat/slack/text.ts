/**
 * What an admin typed, from Slack's message format: Slack wraps mentions, channels and links in
 * angle brackets (`<@U123>`, `<#C123|ops>`, `<mailto:a@b.org|a@b.org>`) and escapes &, < and >.
 * Links and channels become their visible text, mentions and broadcasts disappear; the entities
 * are left for the shared parser (normalizeChatText), which decodes them.
 */
export function commandTextOf(slackText: string): string {
  return slackText
    .replace(/<([@!][^>|]*)(\|[^>]*)?>/g, ' ')
    .replace(/<#[A-Z0-9]+\|([^>]*)>/g, '#$1')
    .replace(/<#([A-Z0-9]+)>/g, '#$1')
    .replace(/<[^>|]+\|([^>]*)>/g, '$1')
    .replace(/<((?:https?|mailto|tel):[^>]*)>/g, (_m, url: string) => url.replace(/^mailto:/, ''))
    .trim();
}
