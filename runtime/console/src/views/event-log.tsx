import { useState } from 'preact/hooks';
import { humanize } from '../model';
import type { TimelineEvent } from '../stream';

const time = (iso?: string): string => (iso ? new Date(iso).toLocaleTimeString([], { hour12: false }) + '.' + String(new Date(iso).getMilliseconds()).padStart(3, '0') : '');

/** One event: time, type, version and the aggregate it belongs to; its data on demand. */
export function EventRow({ event, link, showAggregate = true }: { event: TimelineEvent; link?: string; showAggregate?: boolean }) {
  const [open, setOpen] = useState(false);
  const hasData = event.data !== undefined && event.data !== null && Object.keys(event.data as object).length > 0;
  return (
    <li class={`event ${event.compensation ? 'compensation' : ''}`} data-testid="event" data-type={event.type} data-event-id={event.eventId}>
      <div class="event-line">
        <span class="time">{time(event.createdAt)}</span>
        <span class="event-type">{event.type}</span>
        {event.compensation && <span class="tag comp" data-testid="compensation">compensation</span>}
        {showAggregate && event.aggregateType && (
          link ? <a href={link} class="muted">{humanize(event.aggregateType)} {event.aggregateId?.slice(0, 8)}</a> : <span class="muted">{event.aggregateType}</span>
        )}
        {event.version !== undefined && <span class="muted">v{event.version}</span>}
        {hasData && <button class="link" onClick={() => setOpen(!open)}>{open ? 'hide data' : 'data'}</button>}
      </div>
      {open && <pre class="data">{JSON.stringify(event.data, null, 2)}</pre>}
    </li>
  );
}
