import { useEffect, useRef, useState } from 'preact/hooks';
import { linkOf } from './api';
import { useDiscovery } from './model';
import { expand } from './uri-template';

/** One event as the timeline and the live stream carry it. */
export interface TimelineEvent {
  position?: number | string;
  eventId: string;
  type: string;
  aggregateType?: string;
  aggregateId?: string;
  version?: number;
  createdAt?: string;
  causationId?: string;
  correlationId?: string;
  compensation?: boolean;
  data?: unknown;
  _links?: Record<string, { href: string }>;
}

export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'unavailable';

/**
 * Follows `GET /v1/events/stream` (the entry point's `eventStream` template) with the given
 * filter. EventSource reconnects by itself and resumes with `Last-Event-ID`; the state tells
 * the page whether it is live. A fresh connection starts at the stream's present, so events
 * written between the page's first read and the connection reach the page through `onOpen`.
 */
export function useEventStream(
  filter: { type?: string; id?: string; correlationId?: string } | undefined,
  onEvent: (e: TimelineEvent) => void,
  /** Called each time the stream (re)connects: what happened before it was open must be re-read. */
  onOpen?: () => void,
): StreamState {
  const { root } = useDiscovery();
  const template = linkOf(root, 'eventStream')?.href;
  const [state, setState] = useState<StreamState>('connecting');
  const handler = useRef(onEvent);
  handler.current = onEvent;
  const opened = useRef(onOpen);
  opened.current = onOpen;
  const key = filter ? JSON.stringify(filter) : undefined;
  useEffect(() => {
    if (!template || key === undefined) {
      setState('unavailable');
      return;
    }
    const source = new EventSource(expand(template, JSON.parse(key)));
    setState('connecting');
    source.onopen = () => {
      setState('live');
      opened.current?.();
    };
    source.onerror = () => setState(source.readyState === EventSource.CLOSED ? 'unavailable' : 'reconnecting');
    const listener = (m: MessageEvent) => {
      try {
        handler.current(JSON.parse(m.data as string) as TimelineEvent);
      } catch {
        // A frame that is not an event (a comment, a keep-alive) is not one to show.
      }
    };
    source.addEventListener('event', listener as EventListener);
    return () => source.close();
  }, [template, key]);
  return state;
}

export function LiveDot({ state }: { state: StreamState }) {
  const text = { connecting: 'connecting…', live: 'live', reconnecting: 'reconnecting…', unavailable: 'not live' }[state];
  return <span class={`livedot ${state}`} data-testid="live-state" data-state={state}>{text}</span>;
}
