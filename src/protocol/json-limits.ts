/**
 * JSON nesting limits for everything a peer sends. JSON.parse builds any depth without recursing,
 * but the recursive code that later walks a value (JSON.stringify, validators, copies) overflows
 * the stack at a few thousand levels; so every parsed value is measured, without recursion, before
 * anything else touches it. Measuring the value costs a fraction of the parse (a text scan cost more
 * than the parse itself), and the value is bounded by the frame or body size limit.
 * Pure functions only: no Nest, no I/O.
 */

/** Deepest nesting accepted when nothing else is configured (the tunnel client); the gateway reads MAX_JSON_DEPTH. */
export const DEFAULT_MAX_JSON_DEPTH = 64;

/** Levels a tunnel frame adds around its JSON-RPC payload (`{type, payload}`), so a payload may nest the full limit. */
export const FRAME_ENVELOPE_DEPTH = 1;

/**
 * Result of parsing peer JSON: the value, or why it was refused. A too-deep value is kept as
 * `shallowOnly` so a caller can read a top-level field or two (a frame's `type`, an `id`);
 * it must never be serialized, copied or walked.
 */
export type JsonParseResult =
  { ok: true; value: unknown } | { ok: false; reason: 'invalid' } | { ok: false; reason: 'too-deep'; shallowOnly: unknown };

/**
 * True when arrays and objects nest deeper than `maxDepth` in `value` (`[]` and `{}` are depth 1,
 * a scalar 0). Iterative, depth first, and stops at the first container past the limit.
 */
export function nestsDeeperThan(value: unknown, maxDepth: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const pending: object[] = [value];
  const depths: number[] = [1];
  while (pending.length > 0) {
    const container = pending.pop()!;
    const depth = depths.pop()!;
    if (depth > maxDepth) return true;
    if (Array.isArray(container)) {
      for (let i = 0; i < container.length; i++) {
        const child: unknown = container[i];
        if (typeof child === 'object' && child !== null) {
          pending.push(child);
          depths.push(depth + 1);
        }
      }
      continue;
    }
    // Own enumerable keys only: JSON.parse makes every key (even `__proto__`) an own property.
    for (const key in container) {
      if (!Object.hasOwn(container, key)) continue;
      const child: unknown = (container as Record<string, unknown>)[key];
      if (typeof child === 'object' && child !== null) {
        pending.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return false;
}

/** Parses JSON from a peer and refuses it when it nests deeper than `maxDepth`. */
export function parseJsonWithin(text: string, maxDepth: number): JsonParseResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'invalid' };
  }
  if (nestsDeeperThan(value, maxDepth)) return { ok: false, reason: 'too-deep', shallowOnly: value };
  return { ok: true, value };
}
