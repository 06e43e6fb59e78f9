/** A path followed by a query string, as Nest's "Cannot GET /x?token=..." quotes it. */
const PATH_WITH_QUERY = /(\/[^\s?#]*)[?#][^\s]*/g;

/** The text with every quoted URL's query string and fragment dropped, so `?token=` never reaches a peer or a log. */
export function withoutQuery(text: string): string {
  return text.includes('?') || text.includes('#') ? text.replace(PATH_WITH_QUERY, '$1') : text;
}
