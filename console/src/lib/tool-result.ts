/** A tools/call answer, as blocks to show: text as text, anything else as JSON. */
export interface ResultBlock {
  kind: 'text' | 'json';
  text: string;
}

/** What the console shows of a call's answer. */
export interface CallOutcome {
  /** The server said the tool failed (isError), or the call itself failed (a JSON-RPC error). */
  isError: boolean;
  blocks: ResultBlock[];
}

/** Most blocks shown from one answer, and characters per block. */
const MAX_BLOCKS = 50;
const MAX_BLOCK_CHARS = 100_000;

/** The blocks of a JSON-RPC answer to tools/call. */
export function outcomeOf(response: { result?: unknown; error?: { code: number; message: string } }): CallOutcome {
  if (response.error)
    return { isError: true, blocks: [{ kind: 'text', text: `Error ${response.error.code}: ${String(response.error.message)}` }] };
  const result = (typeof response.result === 'object' && response.result !== null ? response.result : {}) as Record<string, unknown>;
  const blocks: ResultBlock[] = [];
  const content = Array.isArray(result.content) ? result.content : [];
  for (const item of content.slice(0, MAX_BLOCKS)) {
    const c = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
    if (c.type === 'text' && typeof c.text === 'string') blocks.push({ kind: 'text', text: bound(c.text) });
    else blocks.push({ kind: 'json', text: bound(JSON.stringify(item, null, 2)) });
  }
  if (result.structuredContent !== undefined) blocks.push({ kind: 'json', text: bound(JSON.stringify(result.structuredContent, null, 2)) });
  if (blocks.length === 0) blocks.push({ kind: 'json', text: bound(JSON.stringify(response.result ?? null, null, 2)) });
  return { isError: result.isError === true, blocks };
}

function bound(text: string): string {
  return text.length > MAX_BLOCK_CHARS ? `${text.slice(0, MAX_BLOCK_CHARS)}\n… (cut at ${MAX_BLOCK_CHARS} characters)` : text;
}
