import { useCallback, useState } from 'preact/hooks';
import { ApiError, embeddedList, errorMessage, linkOf, request, type Resource } from '../api';
import { ErrorBanner, Notice } from '../components/banner';
import { StateDiagram } from '../components/diagram';
import { Fields } from '../components/fields';
import { SchemaForm } from '../components/schema-form';
import { StatusChip } from '../components/status';
import { useResource } from '../hooks';
import { consoleHref, humanize, relatedLinks, slugOf, useDiscovery, type Machine } from '../model';
import { hashOf, navigate } from '../router';
import { LiveDot, useEventStream, type TimelineEvent } from '../stream';
import { expand } from '../uri-template';
import { CommandPanel } from './commands';
import { EventRow } from './event-log';

/** The edit form of a resource that allows PUT (`_templates.default`), sent with If-Match. */
function EditPanel({ resource, etag, onDone }: { resource: Resource; etag?: string | null; onDone(): void }) {
  const template = resource._templates?.default;
  // The version the form was opened on: a change by anyone else meanwhile makes the save a 409.
  const [openedOn, setOpenedOn] = useState<string>();
  const [error, setError] = useState<ApiError>();
  const [notice, setNotice] = useState<string>();
  if (!template || !template.schema) return null;
  const open = openedOn !== undefined;
  const setOpen = (on: boolean) => setOpenedOn(on ? etag ?? (resource.version !== undefined ? `"${String(resource.version)}"` : '') : undefined);
  const submit = async (value: unknown) => {
    setError(undefined);
    setNotice(undefined);
    try {
      await request(template.target ?? linkOf(resource, 'self')!.href, { method: template.method ?? 'PUT', body: value, headers: openedOn ? { 'If-Match': openedOn } : {} });
      setOpenedOn(undefined);
      setNotice('Saved.');
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, errorMessage(err)));
    } finally {
      onDone();
    }
  };
  const initial = Object.fromEntries(Object.keys(template.schema.properties ?? {}).map((k) => [k, resource[k]]));
  return (
    <section class="card" data-testid="edit">
      <header><h2>{(template.title ?? 'Edit').replace(/\s*\(.*\)$/, '')}</h2>{!open && <button class="secondary" data-testid="edit-open" onClick={() => { setError(undefined); setOpen(true); }}>Edit</button>}</header>
      <ErrorBanner error={error} testid="edit-error" />
      <Notice text={notice} testid="edit-notice" />
      {open && <SchemaForm schema={template.schema} initial={initial} submitLabel="Save" testid="edit-form" onSubmit={submit} onCancel={() => setOpen(false)} />}
    </section>
  );
}

/**
 * One aggregate: its fields, the commands it allows now, its state diagram with the path its
 * log took, its event log (live, through the stream filtered by type and id) and links to
 * the resources it relates to.
 */
export function AggregateDetail({ machine, id }: { machine: Machine; id: string }) {
  const discovery = useDiscovery();
  const itemHref = expand(linkOf(machine, 'item')?.href ?? '', { id });
  const item = useResource(itemHref, 15_000);
  const commands = useResource(linkOf(item.data, 'commands')?.href);
  const log = useResource(linkOf(item.data, 'events')?.href);
  const [live, setLive] = useState<TimelineEvent[]>([]);
  const refresh = useCallback(() => {
    item.reload();
    commands.reload();
  }, [item.reload, commands.reload]);
  const stream = useEventStream({ type: machine.type, id }, (e) => {
    setLive((old) => (old.some((x) => x.eventId === e.eventId) ? old : [...old, e]));
    refresh();
  }, () => {
    refresh();
    log.reload();
  });

  const logged = embeddedList(log.data) as unknown as TimelineEvent[];
  const seen = new Set(logged.map((e) => e.eventId));
  const events = [...logged, ...live.filter((e) => !seen.has(e.eventId))].sort((a, b) => (a.version ?? 0) - (b.version ?? 0));
  const resource = item.data;
  const status = resource?.status as string | undefined;

  return (
    <div class="page" data-testid={`page-detail-${slugOf(machine)}`}>
      <div class="crumbs"><a href={hashOf([slugOf(machine)])}>{humanize(slugOf(machine))}</a> / <span class="mono">{id}</span></div>
      <div class="title-row">
        <h1>{humanize(machine.type)}</h1>
        {status && <StatusChip status={status} testid="status" />}
        <LiveDot state={stream} />
      </div>
      <ErrorBanner error={item.error} retryIn={item.retryIn} onRetry={item.reload} />
      {resource && (
        <div class="columns">
          <div class="col-main">
            <section class="card" data-testid="resource">
              <header><h2>Fields</h2></header>
              <Fields data={resource} />
              {relatedLinks(resource, ['commands', 'events']).length > 0 && (
                <div class="related" data-testid="related">
                  {relatedLinks(resource, ['commands', 'events']).map(([rel, l]) => (
                    <a key={rel + l.href} class="pill" href={consoleHref(l.href, discovery)} data-testid={`related-${rel}`}>{l.title ?? humanize(rel)} →</a>
                  ))}
                </div>
              )}
            </section>
            <EditPanel resource={resource} etag={item.headers?.get('ETag')} onDone={refresh} />
            <CommandPanel commands={commands.data} ownRel={machine.type} onDone={() => { refresh(); log.reload(); }} onCreated={(href) => navigate(consoleHref(href, discovery))} />
            <section class="card" data-testid="event-log">
              <header><h2>Event log</h2><span class="muted">{events.length} events</span></header>
              <ErrorBanner error={log.error} retryIn={log.retryIn} onRetry={log.reload} />
              <ol class="events">{events.map((e) => <EventRow key={e.eventId} event={e} showAggregate={false} />)}</ol>
            </section>
          </div>
          <div class="col-side">
            <section class="card diagram-card">
              <header><h2>State machine</h2></header>
              <div class="diagram-box"><StateDiagram machine={machine} status={status} eventTypes={events.map((e) => e.type)} /></div>
              <p class="legend"><span class="sw current" /> current <span class="sw visited" /> path taken</p>
            </section>
          </div>
        </div>
      )}
      {!resource && !item.error && <div class="empty">Loading…</div>}
      {item.error?.status === 404 && <Notice text="It may not exist yet: the page keeps looking." testid="not-found-hint" />}
    </div>
  );
}
