/** JSON as a tree to show collapsed and expanded, bounded: a payload too big for a tree is shown as text. */
export type JsonNode =
  | { kind: 'value'; key?: string; text: string; type: 'string' | 'number' | 'boolean' | 'null' }
  | { kind: 'object' | 'array'; key?: string; children: JsonNode[]; size: number };

/** Most nodes drawn as a tree; past that the pretty-printed text is shown instead. */
export const MAX_TREE_NODES = 2000;

/** The tree of a JSON text; undefined when it is not JSON or has more than `maxNodes` nodes. */
export function jsonTree(text: string, maxNodes = MAX_TREE_NODES): JsonNode | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const budget = { left: maxNodes };
  return build(value, undefined, budget);
}

function build(value: unknown, key: string | undefined, budget: { left: number }): JsonNode | undefined {
  if (--budget.left < 0) return undefined;
  const keyed = key === undefined ? {} : { key };
  if (Array.isArray(value)) {
    const children: JsonNode[] = [];
    for (let i = 0; i < value.length; i++) {
      const child = build(value[i], String(i), budget);
      if (!child) return undefined;
      children.push(child);
    }
    return { kind: 'array', ...keyed, children, size: value.length };
  }
  if (typeof value === 'object' && value !== null) {
    const children: JsonNode[] = [];
    for (const [k, v] of Object.entries(value)) {
      const child = build(v, k, budget);
      if (!child) return undefined;
      children.push(child);
    }
    return { kind: 'object', ...keyed, children, size: children.length };
  }
  if (typeof value === 'string') return { kind: 'value', ...keyed, text: JSON.stringify(value), type: 'string' };
  if (typeof value === 'number') return { kind: 'value', ...keyed, text: String(value), type: 'number' };
  if (typeof value === 'boolean') return { kind: 'value', ...keyed, text: String(value), type: 'boolean' };
  return { kind: 'value', ...keyed, text: 'null', type: 'null' };
}

/** A JSON text pretty-printed (two spaces), or as it is when it is not JSON. */
export function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
