import { useState } from 'preact/hooks';
import { ApiError, errorMessage, linkOf, request, type Resource } from '../api';
import { ErrorBanner, Notice } from '../components/banner';
import { StatusChip } from '../components/status';
import { useResource } from '../hooks';
import { consoleHref, humanize, slugOf, useDiscovery } from '../model';
import { hashOf } from '../router';
import { LiveDot, useEventStream, type TimelineEvent } from '../stream';
import { EventRow } from './event-log';

interface Stats {
  aggregates: { type: string; total: number; byStatus: Record<string, number> }[];
  events: { total: number };
}

const FEED_SIZE = 40;

/** Counts per aggregate type and status; refreshed every few seconds and on every live event. */
function StatsPanel() {
  const discovery = useDiscovery();
  const stats = useResource<Stats>(linkOf(discovery.root, 'stats')?.href, 3000);
  const slug = (type: string) => {
    const m = discovery.machines.find((x) => x.type === type);
    return m ? slugOf(m) : undefined;
  };
  return (
    <section class="card" data-testid="stats">
      <header><h2>Aggregates</h2>{stats.data && <span class="muted" data-testid="stats-events-total">{stats.data.events.total} events</span>}</header>
      <ErrorBanner error={stats.error} retryIn={stats.retryIn} onRetry={stats.reload} />
      <div class="stat-grid">
        {stats.data?.aggregates.map((a) => (
          <a class="stat" key={a.type} href={slug(a.type) ? hashOf([slug(a.type)!]) : undefined} data-testid={`stat-${a.type}`} data-total={a.total}>
            <div class="stat-head"><span class="stat-type">{humanize(a.type)}</span><span class="stat-total">{a.total}</span></div>
            <div class="chips">
              {Object.entries(a.byStatus).map(([status, n]) => (
                <span key={status} class="chip-count" data-testid={`stat-${a.type}-${status}`} data-count={n}><StatusChip status={status} /> {n}</span>
              ))}
            </div>
          </a>
        ))}
      </div>
    </section>
  );
}

/** The live event feed of the whole system (newest first). */
function Feed() {
  const discovery = useDiscovery();
  const [events, setEvents] = useState<TimelineEvent[]>([]);
  const state = useEventStream({}, (e) => setEvents((old) => (old.some((x) => x.eventId === e.eventId) ? old : [e, ...old].slice(0, FEED_SIZE))));
  return (
    <section class="card" data-testid="feed">
      <header><h2>Live events</h2><LiveDot state={state} /></header>
      {events.length === 0 && <div class="empty small">Waiting for events…</div>}
      <ol class="events">
        {events.map((e) => <EventRow key={e.eventId} event={e} link={e.aggregateType && e.aggregateId ? itemLink(discovery, e.aggregateType, e.aggregateId) : undefined} />)}
      </ol>
    </section>
  );
}

function itemLink(discovery: ReturnType<typeof useDiscovery>, type: string, id: string): string | undefined {
  const m = discovery.machines.find((x) => x.type === type);
  return m ? hashOf([slugOf(m), id]) : undefined;
}

/** One button: `POST _links.demo`, then links to what it made. */
function SeedDemo() {
  const discovery = useDiscovery();
  const demo = linkOf(discovery.root, 'demo');
  const [error, setError] = useState<ApiError>();
  const [made, setMade] = useState<Resource>();
  const [busy, setBusy] = useState(false);
  if (!demo) return null;
  const seed = async () => {
    setBusy(true);
    setError(undefined);
    try {
      setMade((await request(demo.href, { method: 'POST' })).body);
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, errorMessage(err)));
    } finally {
      setBusy(false);
    }
  };
  const links = Object.entries(made?._links ?? {}).filter(([rel]) => rel !== 'self');
  return (
    <section class="card" data-testid="demo">
      <header><h2>Demo data</h2></header>
      <p class="muted">Seeds an active account and a stocked warehouse, ready for an order.</p>
      <button class="primary" onClick={seed} disabled={busy} data-testid="seed-demo">{busy ? 'Seeding…' : 'Seed a demo'}</button>
      <ErrorBanner error={error} />
      {made && <Notice text="Demo seeded." testid="demo-seeded" />}
      {links.length > 0 && (
        <ul class="links" data-testid="demo-links">
          {links.map(([rel, l]) => {
            const href = Array.isArray(l) ? l[0].href : l.href;
            return <li key={rel}><a href={consoleHref(href, discovery)} data-testid={`demo-link-${rel}`}>{humanize(rel)}</a></li>;
          })}
        </ul>
      )}
    </section>
  );
}

export function Home() {
  return (
    <div class="page" data-testid="page-home">
      <h1>Overview</h1>
      <div class="columns">
        <div class="col-main"><StatsPanel /><Feed /></div>
        <div class="col-side"><SeedDemo /></div>
      </div>
    </div>
  );
}
