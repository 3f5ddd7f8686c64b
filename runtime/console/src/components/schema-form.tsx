import { useState } from 'preact/hooks';
import { clean, initialValue, resolve, typeOf, type JsonSchema, type Value } from '../schema';
import { humanize } from '../model';

type Path = (string | number)[];

function setIn(value: Value, path: Path, next: Value): Value {
  if (!path.length) return next;
  const [head, ...rest] = path;
  if (Array.isArray(value)) {
    const copy = [...value];
    copy[head as number] = setIn(copy[head as number], rest, next);
    return copy;
  }
  const obj = (value ?? {}) as Record<string, Value>;
  return { ...obj, [head]: setIn(obj[head as string], rest, next) };
}

const testid = (path: Path): string => `field-${path.join('.')}`;

interface FieldProps {
  schema: JsonSchema;
  root: JsonSchema;
  path: Path;
  value: Value;
  required: boolean;
  label: string;
  onChange(path: Path, value: Value): void;
}

function Field({ schema, root, path, value, required, label, onChange }: FieldProps) {
  const s = resolve(schema, root);
  const type = typeOf(s);
  if (type === 'object') {
    return (
      <fieldset class="group" data-testid={path.length ? testid(path) : undefined}>
        {path.length > 0 && <legend>{label}</legend>}
        {Object.entries(s.properties ?? {}).map(([k, p]) => (
          <Field key={k} schema={p} root={root} path={[...path, k]} value={(value as Record<string, Value> | undefined)?.[k]} required={!!s.required?.includes(k)} label={resolve(p, root).title ?? humanize(k)} onChange={onChange} />
        ))}
      </fieldset>
    );
  }
  if (type === 'array') {
    const rows = (value as Value[] | undefined) ?? [];
    const item = resolve(s.items ?? {}, root);
    return (
      <fieldset class="group list" data-testid={testid(path)}>
        <legend>{label}{required && <span class="req">*</span>}</legend>
        {rows.map((row, i) => (
          <div class={`row ${typeOf(item) === 'object' ? 'row-object' : ''}`} key={i} data-testid={`${testid(path)}-row`}>
            <Field schema={item} root={root} path={[...path, i]} value={row} required label={`${humanize(String(path[path.length - 1]))} ${i + 1}`} onChange={onChange} />
            <button type="button" class="ghost" data-testid={`${testid(path)}-remove-${i}`} onClick={() => onChange(path, rows.filter((_r, j) => j !== i))}>Remove</button>
          </div>
        ))}
        <button type="button" class="ghost" data-testid={`${testid(path)}-add`} onClick={() => onChange(path, [...rows, initialValue(item, root, undefined, true)])}>
          + Add {humanize(String(path[path.length - 1])).toLowerCase().replace(/s$/, '')}
        </button>
      </fieldset>
    );
  }
  const id = testid(path);
  const common = { id, name: path.join('.'), 'data-testid': id, required };
  let input;
  if (s.enum) {
    input = (
      <select {...common} value={value === undefined ? '' : String(value)} onChange={(e) => onChange(path, (e.target as HTMLSelectElement).value || undefined)}>
        <option value="">—</option>
        {s.enum.map((o) => <option key={String(o)} value={String(o)}>{String(o)}</option>)}
      </select>
    );
  } else if (type === 'boolean') {
    input = <input {...common} required={false} type="checkbox" checked={!!value} onChange={(e) => onChange(path, (e.target as HTMLInputElement).checked)} />;
  } else if (type === 'number' || type === 'integer') {
    const min = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + (type === 'integer' ? 1 : 0) : undefined);
    input = (
      <input {...common} type="number" step={type === 'integer' ? 1 : 'any'} min={min} max={s.maximum} value={value === undefined || value === null ? '' : String(value)}
        onInput={(e) => {
          const raw = (e.target as HTMLInputElement).value;
          onChange(path, raw === '' ? undefined : Number(raw));
        }} />
    );
  } else {
    input = (
      <input {...common} {...({ type: s.format === 'email' ? 'email' : 'text' } as object)} minLength={s.minLength} maxLength={s.maxLength} placeholder={s.description ?? ''}
        value={value === undefined || value === null ? '' : String(value)} onInput={(e) => onChange(path, (e.target as HTMLInputElement).value)} />
    );
  }
  return (
    <label class={`input ${type === 'boolean' ? 'inline' : ''}`} for={id}>
      <span>{label}{required && <span class="req">*</span>}</span>
      {input}
    </label>
  );
}

export interface SchemaFormProps {
  schema: JsonSchema;
  /** Values to start from (the resource's current fields for an edit). */
  initial?: Value;
  submitLabel: string;
  testid: string;
  /** Resolves when the API accepted; a rejection leaves the form filled in. */
  onSubmit(value: Value): Promise<void>;
  onCancel?(): void;
}

/**
 * A real form from a JSON Schema: nested objects as fieldsets, lists of objects as rows that
 * can be added and removed (postOrder's `lineItems`), enums as selects. Whatever the API's
 * schema says is what the form asks; nothing is written per command.
 */
export function SchemaForm({ schema, initial, submitLabel, testid: id, onSubmit, onCancel }: SchemaFormProps) {
  const [value, setValue] = useState<Value>(() => initialValue(schema, schema, initial));
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      await onSubmit(clean(value));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="schema-form" data-testid={id} onSubmit={submit}>
      <Field schema={schema} root={schema} path={[]} value={value} required label="" onChange={(path, v) => setValue((old: Value) => setIn(old, path, v))} />
      <div class="actions">
        <button type="submit" class="primary" disabled={busy} data-testid={`${id}-submit`}>{busy ? 'Sending…' : submitLabel}</button>
        {onCancel && <button type="button" class="ghost" onClick={onCancel}>Cancel</button>}
      </div>
    </form>
  );
}
