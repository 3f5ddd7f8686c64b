import { linkOf, type Resource } from '../api';
import { ErrorBanner } from '../components/banner';
import { StatusChip } from '../components/status';
import { useNow, useResource } from '../hooks';
import { humanize, slugOf, useDiscovery } from '../model';
import { hashOf } from '../router';
import { LiveDot, useEventStream, type TimelineEvent } from '../stream';
import { expand } from '../uri-template';

interface Timer {
  actorType: string;
  actorId: string;
  name: string;
  dueAt: string;
  overdue: boolean;
  data?: Record<string, unknown>;
}

interface CorrelationTimeline extends Resource {
  correlationId: string;
  traceId?: string;
  events: TimelineEvent[];
  timers: Timer[];
  outcome: { status: string; reason?: string };
}

const ROW = 46;
const GUTTER = 72;

/**
 * Causation in the gutter: a solid arc from an event to each event it caused (causationId =
 * the cause's eventId), and a dashed bracket joining the events one message caused when that
 * message (a command sent through the outbox) is not itself an event of the timeline.
 */
function CausationArrows({ events }: { events: TimelineEvent[] }) {
  const index = new Map(events.map((e, i) => [e.eventId, i]));
  const arcs: { from: number; to: number; message: boolean }[] = [];
  const lastOfMessage = new Map<string, number>();
  events.forEach((e, i) => {
    if (!e.causationId) return;
    const from = index.get(e.causationId);
    if (from !== undefined) {
      if (from !== i) arcs.push({ from, to: i, message: false });
      return;
    }
    const previous = lastOfMessage.get(e.causationId);
    if (previous !== undefined) arcs.push({ from: previous, to: i, message: true });
    lastOfMessage.set(e.causationId, i);
  });
  const y = (i: number) => i * ROW + ROW / 2;
  return (
    <svg class="arrows" width={GUTTER} height={events.length * ROW} data-testid="causation-arrows" data-count={arcs.filter((a) => !a.message).length}>
      <defs><marker id="carrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z" /></marker></defs>
      {arcs.map(({ from, to, message }) => {
        const bend = GUTTER - 8 - Math.min(GUTTER - 16, 10 + Math.abs(to - from) * 8);
        return message
          ? <path key={`m${from}-${to}`} class="same-message" d={`M${GUTTER - 4},${y(from)} L${GUTTER - 14},${y(from)} L${GUTTER - 14},${y(to)} L${GUTTER - 4},${y(to)}`} />
          : <path key={`${from}-${to}`} d={`M${GUTTER - 4},${y(from)} C${bend},${y(from)} ${bend},${y(to)} ${GUTTER - 4},${y(to)}`} marker-end="url(#carrow)" />;
      })}
      {events.map((e, i) => <circle key={e.eventId} cx={GUTTER - 4} cy={y(i)} r={3.5} class={e.compensation ? 'comp' : ''} />)}
    </svg>
  );
}

/** "caused by ORDER_CREATED" when the cause is in the timeline, else the message's id. */
function causeOf(e: TimelineEvent, byId: Map<string, TimelineEvent>): string | undefined {
  if (!e.causationId || e.causationId === e.eventId || e.causationId === e.correlationId) return undefined;
  const cause = byId.get(e.causationId);
  return cause ? `⤷ ${cause.type}` : `⤷ message ${e.causationId.slice(0, 8)}`;
}

function due(timer: Timer, now: number): string {
  const ms = new Date(timer.dueAt).getTime() - now;
  return ms >= 0 ? `due in ${(ms / 1000).toFixed(0)} s` : `overdue by ${(-ms / 1000).toFixed(0)} s`;
}

/**
 * Everything one business transaction did, across aggregates, in order: causation arrows,
 * compensations marked, its pending deadlines (and attempts), its outcome and failure
 * reason, and a link to its trace. It follows the stream for its correlation id.
 */
export function Timeline({ correlationId }: { correlationId: string }) {
  const discovery = useDiscovery();
  const now = useNow(1000);
  const template = linkOf(discovery.root, 'correlation')?.href;
  const timeline = useResource<CorrelationTimeline>(template ? expand(template, { id: correlationId, correlationId }) : undefined, 5000);
  const stream = useEventStream({ correlationId }, () => timeline.reload(), () => timeline.reload());
  const t = timeline.data;
  const events = [...(t?.events ?? [])].sort((a, b) => Number(a.position ?? 0) - Number(b.position ?? 0));
  const trace = linkOf(t, 'trace');
  const byId = new Map(events.map((e) => [e.eventId, e]));
  const itemLink = (e: TimelineEvent) => {
    const m = discovery.machines.find((x) => x.type === e.aggregateType);
    return m && e.aggregateId ? hashOf([slugOf(m), e.aggregateId]) : undefined;
  };
  return (
    <div class="page" data-testid="page-timeline">
      <div class="title-row">
        <h1>Timeline</h1>
        {t && <StatusChip status={t.outcome.status} testid="outcome" />}
        <LiveDot state={stream} />
        {trace && <a class="pill" href={trace.href} target="_blank" rel="noopener" data-testid="trace-link">Trace in Jaeger ↗</a>}
      </div>
      <div class="muted mono">correlation {correlationId}</div>
      <ErrorBanner error={timeline.error} retryIn={timeline.retryIn} onRetry={timeline.reload} />
      {t?.outcome.reason && <div class="banner error" data-testid="failure-reason"><strong>Failed</strong> {t.outcome.reason}</div>}
      {t && t.timers.length > 0 && (
        <section class="card" data-testid="timers">
          <header><h2>Pending deadlines</h2></header>
          <table class="table compact">
            <thead><tr><th>Deadline</th><th>On</th><th>When</th><th>Details</th></tr></thead>
            <tbody>
              {t.timers.map((x) => (
                <tr key={x.actorId + x.name} data-testid="timer" class={x.overdue ? 'overdue' : ''}>
                  <td>{humanize(x.name)}</td>
                  <td>{x.actorType} {x.actorId.slice(0, 8)}</td>
                  <td>{due(x, now)}</td>
                  <td class="mono small">{Object.entries(x.data ?? {}).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join(' · ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
      {t && (
        <section class="card" data-testid="timeline-events">
          <header><h2>Events</h2><span class="muted">{events.length} events</span></header>
          <div class="timeline">
            <CausationArrows events={events} />
            <ol class="timeline-rows">
              {events.map((e) => (
                <li key={e.eventId} class={`trow ${e.compensation ? 'compensation' : ''}`} style={{ height: `${ROW}px` }} data-testid="timeline-event" data-type={e.type} data-compensation={e.compensation ? 'true' : undefined}>
                  <span class="event-type">{e.type}</span>
                  {e.compensation && <span class="tag comp">compensation</span>}
                  {itemLink(e) ? <a href={itemLink(e)} class="muted">{e.aggregateType} {e.aggregateId?.slice(0, 8)}</a> : <span class="muted">{e.aggregateType}</span>}
                  {causeOf(e, byId) && <span class="cause">{causeOf(e, byId)}</span>}
                  <span class="time muted">{e.createdAt ? new Date(e.createdAt).toLocaleTimeString([], { hour12: false }) : ''}</span>
                </li>
              ))}
            </ol>
          </div>
        </section>
      )}
    </div>
  );
}
