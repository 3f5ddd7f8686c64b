import { useState } from 'preact/hooks';
import { ApiError, embeddedList, errorMessage, linkOf, request, type Link, type Resource } from '../api';
import { ErrorBanner, Notice } from '../components/banner';
import { useResource } from '../hooks';
import { useDiscovery } from '../model';
import { expand } from '../uri-template';

interface PartitionStatus {
  partition: number;
  owner: string | null;
  leaseExpiresInMs: number | null;
  pending: number;
  lag: number | null;
}

interface Group {
  group: string;
  topics: string[];
  members: { id: string; lastSeenMsAgo: number }[];
  partitions: PartitionStatus[];
}

interface OpsBody extends Resource {
  outbox: { backlog: number; oldestAgeMs: number | null };
  timers: { scheduled: number; due: number };
  groups: Group[];
  deadLetters: { count: number };
}

interface DeadLetter extends Resource {
  id: string;
  group: string;
  streamKey: string;
  error: string;
  attempts: number;
  failedAt: string;
  message?: { type?: string; id?: string };
}

const REFRESH_MS = 3000;
const age = (ms: number | null | undefined): string => (ms === null || ms === undefined ? '—' : ms < 1000 ? `${ms} ms` : ms < 120_000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 60_000).toFixed(1)} min`);

/** The first link among rels (or any link whose href contains `hint`), in any of the resources. */
function findLink(resources: (Resource | undefined)[], rels: string[], hint?: string): Link | undefined {
  for (const r of resources) for (const rel of rels) if (linkOf(r, rel)) return linkOf(r, rel);
  if (hint) for (const r of resources) for (const rel of Object.keys(r?._links ?? {})) if (linkOf(r, rel)!.href.includes(hint)) return linkOf(r, rel);
  return undefined;
}

function Metric({ label, value, testid, tone }: { label: string; value: string | number; testid: string; tone?: string }) {
  return <div class={`metric ${tone ?? ''}`} data-testid={testid} data-value={value}><div class="metric-value">{value}</div><div class="metric-label">{label}</div></div>;
}

/**
 * What an operator watches: consumer groups (partitions, owners, pending, lag), the outbox
 * backlog, due timers, the dead letters (re-drive one or a group's, delete), and the queues
 * (Bull Board). Everything refreshes by itself every few seconds.
 */
export function Operations() {
  const { root } = useDiscovery();
  const ops = useResource<OpsBody>(linkOf(root, 'ops')?.href, REFRESH_MS);
  const lettersLink = findLink([ops.data, root], ['deadLetters']);
  const letters = useResource(lettersLink?.href, REFRESH_MS);
  const [error, setError] = useState<ApiError>();
  const [notice, setNotice] = useState<string>();
  const [showQueues, setShowQueues] = useState(false);
  const o = ops.data;
  const list = embeddedList(letters.data) as DeadLetter[];
  const groupsWithLetters = [...new Set(list.map((l) => l.group))];
  const redriveGroup = findLink([letters.data, ops.data], ['redriveAll', 'redriveGroup'], 'redrive{');
  const queues = findLink([ops.data, root], ['queues']);

  const act = async (what: string, href: string, method: string) => {
    setError(undefined);
    setNotice(undefined);
    try {
      await request(href, { method });
      setNotice(what);
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, errorMessage(err)));
    } finally {
      letters.reload();
      ops.reload();
    }
  };

  return (
    <div class="page" data-testid="page-ops">
      <h1>Operations</h1>
      <ErrorBanner error={ops.error} retryIn={ops.retryIn} onRetry={ops.reload} />
      {o && (
        <div class="metrics">
          <Metric label="outbox backlog" value={o.outbox.backlog} testid="outbox-backlog" tone={o.outbox.backlog > 100 ? 'warn' : ''} />
          <Metric label="oldest unsent" value={age(o.outbox.oldestAgeMs)} testid="outbox-age" />
          <Metric label="timers scheduled" value={o.timers.scheduled} testid="timers-scheduled" />
          <Metric label="timers due" value={o.timers.due} testid="timers-due" tone={o.timers.due > 0 ? 'warn' : ''} />
          <Metric label="dead letters" value={o.deadLetters.count} testid="dead-letter-count" tone={o.deadLetters.count > 0 ? 'bad' : ''} />
        </div>
      )}
      <section class="card" data-testid="dead-letters">
        <header><h2>Dead letters</h2><span class="muted">{list.length}</span></header>
        <ErrorBanner error={error ?? letters.error} retryIn={error ? undefined : letters.retryIn} testid="ops-error" />
        <Notice text={notice} testid="ops-notice" />
        {redriveGroup && groupsWithLetters.length > 0 && (
          <div class="buttons">
            {groupsWithLetters.map((g) => (
              <button key={g} class="secondary" data-testid={`redrive-group-${g}`} onClick={() => act(`Re-drove the dead letters of ${g}`, expand(redriveGroup.href, { group: g }), 'POST')}>Re-drive all of {g}</button>
            ))}
          </div>
        )}
        {list.length === 0 ? <div class="empty small" data-testid="no-dead-letters">No dead letters.</div> : (
          <table class="table compact">
            <thead><tr><th>Group</th><th>Message</th><th>Error</th><th class="num">Attempts</th><th>Failed</th><th /></tr></thead>
            <tbody>
              {list.map((l) => {
                const redrive = linkOf(l, 'redrive');
                const remove = linkOf(l, 'delete') ?? linkOf(l, 'self') ?? (lettersLink && { href: `${lettersLink.href}/${encodeURIComponent(l.id)}` });
                return (
                  <tr key={l.id} data-testid="dead-letter" data-id={l.id}>
                    <td>{l.group}</td>
                    <td class="mono small">{l.message?.type ?? '?'}<br />{l.streamKey}</td>
                    <td class="error-text">{l.error}</td>
                    <td class="num">{l.attempts}</td>
                    <td>{new Date(l.failedAt).toLocaleTimeString()}</td>
                    <td class="nowrap">
                      {redrive && <button class="secondary" data-testid={`redrive-${l.id}`} onClick={() => act(`Re-drove ${l.id}`, redrive.href, 'POST')}>Re-drive</button>}
                      {remove && <button class="ghost danger" data-testid={`delete-${l.id}`} onClick={() => confirm(`Delete dead letter ${l.id}? The message will not be handled.`) && act(`Deleted ${l.id}`, remove.href, 'DELETE')}>Delete</button>}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </section>
      <section class="card flush" data-testid="groups">
        <header class="pad"><h2>Consumer groups</h2></header>
        <table class="table compact">
          <thead><tr><th>Group</th><th>Topics</th><th class="num">Partition</th><th>Owner</th><th class="num">Lease</th><th class="num">Pending</th><th class="num">Lag</th></tr></thead>
          <tbody>
            {o?.groups.flatMap((g) => g.partitions.map((p, i) => (
              <tr key={`${g.group}-${p.partition}`} data-testid="partition-row" data-group={g.group} class={i === 0 ? 'first' : ''}>
                <td>{i === 0 ? g.group : ''}</td>
                <td class="muted">{i === 0 ? g.topics.join(', ') : ''}</td>
                <td class="num">{p.partition}</td>
                <td class="mono small">{p.owner ?? <span class="bad-text">unowned</span>}</td>
                <td class="num">{age(p.leaseExpiresInMs)}</td>
                <td class="num" data-testid="pending">{p.pending}</td>
                <td class="num">{p.lag ?? '—'}</td>
              </tr>
            )))}
          </tbody>
        </table>
      </section>
      <section class="card" data-testid="queues">
        <header><h2>Queues</h2><button class="secondary" data-testid="queues-toggle" onClick={() => setShowQueues(!showQueues)}>{showQueues ? 'Hide' : 'Show Bull Board'}</button></header>
        {showQueues && <iframe class="queues" src={queues?.href ?? '/console/queues'} title="Bull Board" data-testid="queues-frame" />}
      </section>
    </div>
  );
}
