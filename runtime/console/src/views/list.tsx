import { useState } from 'preact/hooks';
import { ApiError, embeddedList, errorMessage, linkOf, request, type Resource, type Template } from '../api';
import { ErrorBanner } from '../components/banner';
import { SchemaForm } from '../components/schema-form';
import { StatusChip } from '../components/status';
import { useResource } from '../hooks';
import { consoleHref, humanize, slugOf, useDiscovery, type Machine } from '../model';
import { hashOf, navigate } from '../router';
import { expand, variables } from '../uri-template';
import { useOperationTemplate } from '../openapi';

const PAGE_SIZE = 20;

/** Columns for a collection: scalar fields of its items, the status second, at most six. */
function columns(items: Resource[]): string[] {
  const keys: string[] = [];
  for (const item of items.slice(0, 5)) for (const [k, v] of Object.entries(item)) if (!k.startsWith('_') && (v === null || typeof v !== 'object') && !keys.includes(k)) keys.push(k);
  const ordered = keys.filter((k) => k !== 'status');
  if (keys.includes('status')) ordered.splice(1, 0, 'status');
  return ordered.slice(0, 6);
}

const cell = (v: unknown): string => (v === null || v === undefined ? '' : typeof v === 'string' && /^\d{4}-\d\d-\d\dT/.test(v) ? new Date(v).toLocaleString() : String(v));

/** The collection's creation form (a POST template on the collection), if it has one. */
function CreateForm({ machine, template }: { machine: Machine; template: Template }) {
  const discovery = useDiscovery();
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<ApiError>();
  if (!template.schema && !template.properties) return null;
  const submit = async (value: unknown) => {
    setError(undefined);
    try {
      const r = await request(template.target ?? linkOf(machine, 'collection')!.href, { method: template.method ?? 'POST', body: value });
      const self = r.headers.get('Location') ?? linkOf(r.body, 'self')?.href;
      setOpen(false);
      if (self) navigate(consoleHref(self, discovery));
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, errorMessage(err)));
      throw err;
    }
  };
  const schema = template.schema ?? { type: 'object', properties: Object.fromEntries((template.properties ?? []).map((p) => [p.name, { type: p.type === 'number' ? 'number' : 'string' }])), required: (template.properties ?? []).filter((p) => p.required).map((p) => p.name) };
  return (
    <div class="create">
      {!open && <button class="primary" data-testid="create-open" onClick={() => setOpen(true)}>{template.title ?? `New ${humanize(machine.type).toLowerCase()}`}</button>}
      {open && (
        <section class="card">
          <header><h2>{template.title ?? `New ${humanize(machine.type).toLowerCase()}`}</h2></header>
          <ErrorBanner error={error} testid="create-error" />
          <SchemaForm schema={schema} submitLabel="Create" testid="create-form" onSubmit={(v) => submit(v).catch(() => undefined)} onCancel={() => setOpen(false)} />
        </section>
      )}
    </div>
  );
}

/**
 * A paged list of one aggregate type, filtered by status (the machine's states). The
 * collection's template says which filters exist; rows link to the detail page.
 */
export function AggregateList({ machine, query }: { machine: Machine; query: URLSearchParams }) {
  const discovery = useDiscovery();
  const slug = slugOf(machine);
  const page = Number(query.get('page') ?? 0);
  const status = query.get('status') ?? '';
  const template = linkOf(machine, 'collection')?.href ?? '';
  const canFilter = variables(template).includes('status');
  const href = template ? expand(template, { page, size: PAGE_SIZE, status: canFilter ? status : undefined }) : undefined;
  const list = useResource(href, 5000);
  const items = embeddedList(list.data);
  const cols = columns(items);
  const info = list.data?.page as { number: number; totalPages: number; totalElements: number } | undefined;
  // A POST template on the collection, or else the API document's POST on its path.
  const collectionPath = template.replace(/\{[?&][^}]*\}/g, '') || undefined;
  const fromDocument = useOperationTemplate(linkOf(discovery.root, 'describedby')?.href, 'POST', collectionPath, `New ${humanize(machine.type).toLowerCase()}`);
  const create = Object.values(list.data?._templates ?? {}).find((t) => (t.method ?? '').toUpperCase() === 'POST') ?? fromDocument;
  const go = (next: Record<string, string | number | undefined>) => navigate(hashOf([slug], { status, page, ...next }));
  return (
    <div class="page" data-testid={`page-list-${slug}`}>
      <div class="title-row">
        <h1>{humanize(slug)}</h1>
        {create && <CreateForm machine={machine} template={create} />}
      </div>
      {canFilter && (
        <div class="filters" data-testid="status-filter">
          <button class={`pill ${status ? '' : 'on'}`} onClick={() => go({ status: undefined, page: 0 })}>All</button>
          {machine.states.filter((s) => s.name !== machine.initial).map((s) => (
            <button key={s.name} class={`pill ${status === s.name ? 'on' : ''}`} data-testid={`filter-${s.name}`} onClick={() => go({ status: s.name, page: 0 })}>{s.name}</button>
          ))}
        </div>
      )}
      <ErrorBanner error={list.error} retryIn={list.retryIn} onRetry={list.reload} />
      <section class="card flush">
        <table class="table" data-testid="list-table">
          <thead><tr>{cols.map((c) => <th key={c}>{humanize(c)}</th>)}</tr></thead>
          <tbody>
            {items.map((item, i) => {
              const self = linkOf(item, 'self')?.href;
              const to = self ? consoleHref(self, discovery) : undefined;
              return (
                <tr key={self ?? i} data-testid="list-row" class={to ? 'clickable' : ''} onClick={() => to && navigate(to)}>
                  {cols.map((c, j) => (
                    <td key={c}>{c === 'status' ? <StatusChip status={String(item[c])} /> : j === 0 && to ? <a href={to}>{cell(item[c])}</a> : cell(item[c])}</td>
                  ))}
                </tr>
              );
            })}
          </tbody>
        </table>
        {list.data && items.length === 0 && <div class="empty small">Nothing here{status ? ` with status ${status}` : ''}.</div>}
      </section>
      {info && (
        <div class="pager" data-testid="pager">
          <button class="ghost" disabled={page <= 0} onClick={() => go({ page: page - 1 })}>‹ Previous</button>
          <span class="muted">page {info.number + 1} of {info.totalPages} · {info.totalElements} in all</span>
          <button class="ghost" disabled={!linkOf(list.data, 'next')} onClick={() => go({ page: page + 1 })}>Next ›</button>
        </div>
      )}
    </div>
  );
}
