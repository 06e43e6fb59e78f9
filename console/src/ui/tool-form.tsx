/** A form built from a tool's input schema; submitting it calls the tool through the tunnel and shows the answer as text. */
import { useMemo, useState } from 'preact/hooks';
import { ApiError, type GatewayApi } from '../lib/api.js';
import type { ToolItem } from '../lib/catalog.js';
import { argumentsFrom, fieldsOf, type Field, type FormValues } from '../lib/schema-form.js';
import { outcomeOf, type CallOutcome } from '../lib/tool-result.js';

export interface ToolFormProps {
  api: GatewayApi;
  sessionId: string;
  tool: ToolItem;
  onAuthError: (err: unknown) => void;
}

export function ToolForm({ api, sessionId, tool, onAuthError }: ToolFormProps) {
  const fields = useMemo(() => fieldsOf(tool.inputSchema), [tool]);
  const [values, setValues] = useState<FormValues>(() => Object.fromEntries(fields.map((f) => [f.name, f.initial])));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<CallOutcome>();

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    const parsed = argumentsFrom(fields, values);
    if (!parsed.ok) {
      setErrors(parsed.errors);
      return;
    }
    setErrors({});
    setBusy(true);
    setOutcome(undefined);
    try {
      setOutcome(outcomeOf(await api.call(sessionId, 'tools/call', { name: tool.name, arguments: parsed.args })));
    } catch (err) {
      onAuthError(err);
      setOutcome({
        isError: true,
        blocks: [{ kind: 'text', text: err instanceof ApiError ? err.message : 'The gateway could not be reached.' }],
      });
    } finally {
      setBusy(false);
    }
  };

  const set = (name: string, value: string | boolean): void => setValues((v) => ({ ...v, [name]: value }));
  return (
    <form class="tool-form" onSubmit={(e) => void submit(e)} aria-label={`Call ${tool.name}`}>
      {tool.description && <p class="help">{tool.description}</p>}
      {fields.length === 0 && <p class="help">This tool takes no arguments.</p>}
      {fields.map((f, i) => (
        <FieldInput
          key={f.name}
          id={`arg-${i}`}
          field={f}
          value={values[f.name] ?? f.initial}
          error={errors[f.name]}
          onChange={(v) => set(f.name, v)}
        />
      ))}
      <button type="submit" disabled={busy}>
        {busy ? 'Calling…' : `Call ${tool.name}`}
      </button>
      {outcome && (
        <div class={`result ${outcome.isError ? 'is-error' : ''}`} role="status" aria-label="Answer">
          <h3>{outcome.isError ? 'Error' : 'Answer'}</h3>
          {outcome.blocks.map((b, i) => (
            <pre key={i} class={`result-block ${b.kind}`}>
              {b.text}
            </pre>
          ))}
        </div>
      )}
    </form>
  );
}

interface FieldInputProps {
  id: string;
  field: Field;
  value: string | boolean;
  error?: string;
  onChange: (v: string | boolean) => void;
}

function FieldInput({ id, field, value, error, onChange }: FieldInputProps) {
  const describedBy = [field.description ? `${id}-help` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
  const label = (
    <label for={id}>
      {field.name}
      {field.required ? ' (required)' : ''} <span class="kind">{field.kind}</span>
    </label>
  );
  let input;
  if (field.kind === 'boolean') {
    input = (
      <input
        id={id}
        type="checkbox"
        checked={value === true}
        onChange={(e) => onChange(e.currentTarget.checked)}
        aria-describedby={describedBy}
      />
    );
  } else if (field.kind === 'enum') {
    input = (
      <select id={id} value={String(value)} onChange={(e) => onChange(e.currentTarget.value)} aria-describedby={describedBy}>
        {!field.required && <option value="">(none)</option>}
        {(field.choices ?? []).map((c) => (
          <option key={c} value={c}>
            {c}
          </option>
        ))}
      </select>
    );
  } else if (field.kind === 'json') {
    input = (
      <textarea
        id={id}
        rows={4}
        value={String(value)}
        onInput={(e) => onChange(e.currentTarget.value)}
        aria-describedby={describedBy}
        spellcheck={false}
      />
    );
  } else {
    input = (
      <input
        id={id}
        type="text"
        inputMode={field.kind === 'string' ? undefined : 'decimal'}
        value={String(value)}
        onInput={(e) => onChange(e.currentTarget.value)}
        aria-describedby={describedBy}
        aria-invalid={error ? true : undefined}
      />
    );
  }
  return (
    <div class="field">
      {label}
      {input}
      {field.description && (
        <span id={`${id}-help`} class="help">
          {field.description}
        </span>
      )}
      {error && (
        <span id={`${id}-error`} class="error">
          {error}
        </span>
      )}
    </div>
  );
}
