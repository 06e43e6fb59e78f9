/** JSON shown as a collapsible tree (or as pretty text when too big), always as text, never as HTML. */
import { jsonTree, prettyJson, type JsonNode } from '../lib/json-tree.js';

/** Levels shown open at first: a tool's answer text (result.content[0].text) is visible without a click. */
const OPEN_DEPTH = 4;

export function JsonView({ text }: { text: string }) {
  const tree = jsonTree(text);
  if (!tree) return <pre class="json-raw">{prettyJson(text)}</pre>;
  return (
    <div class="json">
      <Node node={tree} depth={0} />
    </div>
  );
}

function Node({ node, depth }: { node: JsonNode; depth: number }) {
  const key = node.key !== undefined ? <span class="json-key">{JSON.stringify(node.key)}: </span> : null;
  if (node.kind === 'value') {
    return (
      <div class="json-line">
        {key}
        <span class={`json-${node.type}`}>{node.text}</span>
      </div>
    );
  }
  const [open, close] = node.kind === 'array' ? ['[', ']'] : ['{', '}'];
  if (node.children.length === 0) {
    return (
      <div class="json-line">
        {key}
        {open}
        {close}
      </div>
    );
  }
  return (
    <details class="json-node" open={depth < OPEN_DEPTH}>
      <summary>
        {key}
        {open}
        <span class="json-size">
          {' '}
          {node.size} {node.kind === 'array' ? (node.size === 1 ? 'item' : 'items') : node.size === 1 ? 'key' : 'keys'}{' '}
        </span>
      </summary>
      <div class="json-children">
        {node.children.map((child, i) => (
          <Node key={i} node={child} depth={depth + 1} />
        ))}
      </div>
      <div class="json-line">{close}</div>
    </details>
  );
}
