/**
 * Markdown and HTML escaping for the markdown reports: plain text that reads as itself in table
 * cells, headings and list items, and inline code that survives any backticks it holds.
 */
/**
 * Escapes plain text for inline markdown (table cells, headings, list items): HTML is
 * entity-encoded, markdown punctuation and `|` are backslash-escaped, `@` cannot mention anyone,
 * and line breaks become spaces.
 */
export function escapeMarkdown(s: string): string {
  return s
    .replace(/\r\n|\r|\n/g, ' ')
    .replace(/[\\`*_{}[\]#|~$]/g, c => `\\${c}`)
    .replace(/[&<>]/g, c => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'))
    .replace(/@/g, '@&#8203;')
}

/** Inline code for a table cell: backticks inside are fenced with longer runs, `|` is escaped. */
export function codeSpan(s: string): string {
  const text = s.replace(/\r\n|\r|\n/g, ' ').replace(/\|/g, '\\|')
  const runs = text.match(/`+/g) ?? []
  const fence = '`'.repeat(Math.max(0, ...runs.map(r => r.length)) + 1)
  const pad = text.startsWith('`') || text.endsWith('`') || runs.length ? ' ' : ''
  return `${fence}${pad}${text}${pad}${fence}`
}

/** Escapes text for HTML element content (e.g. inside `<summary>`). */
export function htmlText(s: string): string {
  return s.replace(/[&<>]/g, c => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'))
}
