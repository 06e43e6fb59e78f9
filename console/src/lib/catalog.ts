/** What a server offers (tools, prompts, resources), read from its list answers, bounded and typed. */

/** One tool: its name, description and input schema. */
export interface ToolItem {
  name: string;
  title?: string;
  description?: string;
  inputSchema?: unknown;
}

/** One prompt and its argument names. */
export interface PromptItem {
  name: string;
  description?: string;
  arguments: string[];
}

/** One resource. */
export interface ResourceItem {
  uri: string;
  name?: string;
  description?: string;
  mimeType?: string;
}

/** Most items shown of one list, and characters per text. */
const MAX_ITEMS = 500;
const MAX_TEXT = 2000;

const text = (v: unknown): string | undefined => (typeof v === 'string' ? v.slice(0, MAX_TEXT) : undefined);

function listOf(result: unknown, key: string): Record<string, unknown>[] {
  if (typeof result !== 'object' || result === null) return [];
  const list = (result as Record<string, unknown>)[key];
  if (!Array.isArray(list)) return [];
  return list.slice(0, MAX_ITEMS).filter((i): i is Record<string, unknown> => typeof i === 'object' && i !== null);
}

/** The tools of a tools/list result. */
export function toolsOf(result: unknown): ToolItem[] {
  return listOf(result, 'tools')
    .filter((t) => typeof t.name === 'string')
    .map((t) => ({ name: text(t.name)!, title: text(t.title), description: text(t.description), inputSchema: t.inputSchema }));
}

/** The prompts of a prompts/list result. */
export function promptsOf(result: unknown): PromptItem[] {
  return listOf(result, 'prompts')
    .filter((p) => typeof p.name === 'string')
    .map((p) => ({
      name: text(p.name)!,
      description: text(p.description),
      arguments: (Array.isArray(p.arguments) ? p.arguments : [])
        .map((a) => (typeof a === 'object' && a !== null ? text((a as Record<string, unknown>).name) : undefined))
        .filter((n): n is string => n !== undefined),
    }));
}

/** The resources of a resources/list result. */
export function resourcesOf(result: unknown): ResourceItem[] {
  return listOf(result, 'resources')
    .filter((r) => typeof r.uri === 'string')
    .map((r) => ({ uri: text(r.uri)!, name: text(r.name), description: text(r.description), mimeType: text(r.mimeType) }));
}

/** Whether the list answer says more pages follow. */
export function hasMore(result: unknown): boolean {
  return typeof result === 'object' && result !== null && typeof (result as Record<string, unknown>).nextCursor === 'string';
}

/** The capability names a server declared (tools, prompts, resources, logging, ...). */
export function capabilityNames(capabilities: unknown): string[] {
  if (typeof capabilities !== 'object' || capabilities === null) return [];
  return Object.keys(capabilities).slice(0, 50);
}
