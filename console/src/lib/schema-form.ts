/**
 * A tool's input schema (JSON Schema, from an untrusted server) turned into form fields, and the
 * values typed into them turned back into the call's arguments. Strings, numbers, integers,
 * booleans and enums get their own inputs; anything else is typed as JSON.
 */

/** The kind of input a field gets. */
export type FieldKind = 'string' | 'number' | 'integer' | 'boolean' | 'enum' | 'json';

/** One input of the form. */
export interface Field {
  name: string;
  kind: FieldKind;
  required: boolean;
  /** The schema's description (shown as text). */
  description?: string;
  /** Choices of an `enum` field, as JSON texts (so numbers and strings keep their type). */
  choices?: string[];
  /** What the input starts with: the schema's default, as the input holds it. */
  initial: string | boolean;
}

/** Most fields built from one schema, and longest names and descriptions kept. */
const MAX_FIELDS = 100;
const MAX_NAME_CHARS = 200;
const MAX_DESCRIPTION_CHARS = 1000;
const MAX_CHOICES = 200;

/** The form of a tool's `inputSchema` (its top-level properties). */
export function fieldsOf(schema: unknown): Field[] {
  if (typeof schema !== 'object' || schema === null) return [];
  const s = schema as Record<string, unknown>;
  const properties = typeof s.properties === 'object' && s.properties !== null ? (s.properties as Record<string, unknown>) : {};
  const required = new Set(Array.isArray(s.required) ? s.required.filter((r): r is string => typeof r === 'string') : []);
  return Object.entries(properties)
    .slice(0, MAX_FIELDS)
    .filter(([name]) => name.length <= MAX_NAME_CHARS)
    .map(([name, prop]) => fieldOf(name, prop, required.has(name)));
}

function fieldOf(name: string, prop: unknown, required: boolean): Field {
  const p = typeof prop === 'object' && prop !== null ? (prop as Record<string, unknown>) : {};
  const description = typeof p.description === 'string' ? p.description.slice(0, MAX_DESCRIPTION_CHARS) : undefined;
  const base = { name, required, ...(description !== undefined ? { description } : {}) };
  if (Array.isArray(p.enum) && p.enum.length > 0) {
    const choices = p.enum.slice(0, MAX_CHOICES).map((v) => JSON.stringify(v));
    return { ...base, kind: 'enum', choices, initial: p.default !== undefined ? JSON.stringify(p.default) : required ? choices[0] : '' };
  }
  const kind = kindOf(p.type);
  if (kind === 'boolean') return { ...base, kind, initial: p.default === true };
  if (kind === 'json') return { ...base, kind, initial: p.default !== undefined ? JSON.stringify(p.default, null, 2) : '' };
  const initial = typeof p.default === 'string' || typeof p.default === 'number' ? String(p.default) : '';
  return { ...base, kind, initial };
}

function kindOf(type: unknown): FieldKind {
  // ["string", "null"] is a nullable string: the form offers the string.
  const types: unknown[] = Array.isArray(type) ? type.filter((t: unknown) => t !== 'null') : [type];
  if (types.length !== 1) return 'json';
  const t = types[0];
  return t === 'string' || t === 'number' || t === 'integer' || t === 'boolean' ? t : 'json';
}

/** The values of the form's inputs, by field name. */
export type FormValues = Record<string, string | boolean>;

/** The arguments of a call, or what is wrong with each field. */
export type ArgumentsResult = { ok: true; args: Record<string, unknown> } | { ok: false; errors: Record<string, string> };

/** The call's arguments from the form's values: empty optional fields are left out. */
export function argumentsFrom(fields: readonly Field[], values: FormValues): ArgumentsResult {
  const args: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const field of fields) {
    const raw = values[field.name] ?? field.initial;
    if (field.kind === 'boolean') {
      args[field.name] = raw === true;
      continue;
    }
    const text = typeof raw === 'string' ? raw : String(raw);
    if (text.trim() === '' && field.kind !== 'string') {
      if (field.required) errors[field.name] = 'Required.';
      continue;
    }
    if (text === '' && field.kind === 'string') {
      if (field.required) errors[field.name] = 'Required.';
      continue;
    }
    const parsed = parseValue(field, text);
    if ('error' in parsed) errors[field.name] = parsed.error;
    else args[field.name] = parsed.value;
  }
  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, args };
}

function parseValue(field: Field, text: string): { value: unknown } | { error: string } {
  switch (field.kind) {
    case 'string':
      return { value: text };
    case 'number': {
      const n = Number(text.trim());
      return Number.isFinite(n) ? { value: n } : { error: 'Not a number.' };
    }
    case 'integer': {
      const n = Number(text.trim());
      return Number.isSafeInteger(n) ? { value: n } : { error: 'Not a whole number.' };
    }
    case 'enum':
    case 'json':
      try {
        return { value: JSON.parse(text) as unknown };
      } catch {
        return { error: 'Not valid JSON.' };
      }
    default:
      return { error: 'Unsupported.' };
  }
}
