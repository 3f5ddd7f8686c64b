import type { Resource } from '../api';
import { humanize } from '../model';

function render(value: unknown): preact.ComponentChildren {
  if (value === null || value === undefined) return <span class="muted">—</span>;
  if (Array.isArray(value)) {
    if (value.length && value.every((v) => v && typeof v === 'object' && !Array.isArray(v))) {
      const keys = [...new Set(value.flatMap((v) => Object.keys(v as object)))].filter((k) => !k.startsWith('_'));
      return (
        <table class="table compact">
          <thead><tr>{keys.map((k) => <th key={k}>{humanize(k)}</th>)}</tr></thead>
          <tbody>{value.map((v, i) => <tr key={i}>{keys.map((k) => <td key={k}>{render((v as Record<string, unknown>)[k])}</td>)}</tr>)}</tbody>
        </table>
      );
    }
    return value.map((v) => String(v)).join(', ');
  }
  if (typeof value === 'object') return <Fields data={value as Resource} nested />;
  return String(value);
}

/** A resource's own fields (not `_links`, `_embedded`, `_templates`) as a definition list. */
export function Fields({ data, nested = false }: { data: Resource; nested?: boolean }) {
  const entries = Object.entries(data).filter(([k]) => !k.startsWith('_'));
  return (
    <dl class={nested ? 'fields nested' : 'fields'} data-testid={nested ? undefined : 'fields'}>
      {entries.map(([k, v]) => (
        <div class="field" key={k}>
          <dt>{humanize(k)}</dt>
          <dd data-testid={nested ? undefined : `field-value-${k}`}>{render(v)}</dd>
        </div>
      ))}
    </dl>
  );
}
