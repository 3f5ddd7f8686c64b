import type { ServerResponse } from 'node:http';
import type { EventFilter, LogEvent } from '../../../store/event-log-queries';
import type { EventFeed, FeedSubscriber } from './event-feed';

export interface SseLimits {
  heartbeatMs: number;
  /** Events queued for the client (not yet taken by its socket) before it is dropped. */
  bufferEvents: number;
  /** Bytes queued for the client before it is dropped. */
  bufferBytes: number;
}

export interface SseSource {
  feed: EventFeed;
  /** The SSE `data:` of an event (the console's event JSON), computed once per event for all clients. */
  render(e: LogEvent): string;
  /** Events in `(after, upTo]` that match the filter, in position order, at most `limit`: the catch-up. */
  history(after: number, upTo: number, filter: EventFilter, limit: number): Promise<LogEvent[]>;
  /** Called once when a client is dropped for falling behind (metrics, tests). */
  onDropped?(): void;
}

const CATCH_UP_PAGE = 500;

export function matches(filter: EventFilter, e: LogEvent): boolean {
  if (filter.type && e.streamType !== filter.type) return false;
  if (filter.id && e.metadata.actorId !== filter.id) return false;
  if (filter.correlationId && e.metadata.correlationId !== filter.correlationId) return false;
  return true;
}

/**
 * One Server-Sent Events client. It joins the shared feed first (buffering what arrives), then
 * reads the log from its resume position up to the head it joined at, then sends what it
 * buffered: no event is missed or sent twice between history and live. Its memory is bounded:
 * what its socket has not taken (Node's write buffer, plus live events buffered during the
 * catch-up) is checked against the cap in events and bytes when the next batch arrives, and a
 * client still over it is disconnected (so it holds at most the cap plus one poll's batch); it
 * resumes with `Last-Event-ID`. The stream ends when the client goes or the process stops.
 */
export class SseClient implements FeedSubscriber {
  private after: number | undefined;
  private catchingUp: LogEvent[] | undefined;
  /** Events written since the socket last drained. */
  private unflushed = 0;
  private heartbeat?: NodeJS.Timeout;
  private ended = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly filter: EventFilter,
    after: number | undefined,
    private readonly source: SseSource,
    private readonly limits: SseLimits,
  ) {
    this.after = after;
  }

  /** Starts the stream: headers, join, catch-up, then live. */
  async start(): Promise<void> {
    const { res } = this;
    res.on('close', () => this.cleanUp());
    res.on('drain', () => (this.unflushed = 0));
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      // Each stream ends its connection, so a stopping server has no keep-alive socket to wait for.
      Connection: 'close',
      'X-Accel-Buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    this.heartbeat = setInterval(() => this.ended || res.write(': heartbeat\n\n'), this.limits.heartbeatMs);
    this.heartbeat.unref();
    if (this.after === undefined) {
      this.after = await this.source.feed.join(this);
      return;
    }
    this.catchingUp = [];
    const head = await this.source.feed.join(this);
    let cursor = this.after;
    while (!this.ended && cursor < head) {
      const page = await this.source.history(cursor, head, this.filter, CATCH_UP_PAGE);
      for (const e of page) await this.writeWaiting(e);
      cursor = page.length < CATCH_UP_PAGE ? head : page[page.length - 1].position;
    }
    const buffered = this.catchingUp;
    this.catchingUp = undefined;
    for (const e of buffered) this.write(e);
  }

  deliver(events: readonly LogEvent[]): void {
    // A batch arrives in one go: what the client had not taken by now is what counts. A client
    // that keeps reading drains between polls; one still over its cap has fallen behind.
    if (!this.catchingUp && this.overCap()) return this.drop();
    for (const e of events) {
      if (this.ended) return;
      if (e.position <= (this.after ?? 0) || !matches(this.filter, e)) continue;
      if (this.catchingUp) {
        this.catchingUp.push(e);
        if (this.catchingUp.length > this.limits.bufferEvents) return this.drop();
      } else this.write(e);
    }
  }

  /** Live: write (Node keeps what the socket has not taken; {@link deliver} checks it against the cap). */
  private write(e: LogEvent): void {
    if (this.ended || e.position <= (this.after ?? 0)) return;
    const ok = this.res.write(this.message(e));
    this.after = e.position;
    if (!ok) this.unflushed++;
  }

  /** Whether the client holds more unsent events or bytes than its cap. */
  private overCap(): boolean {
    return this.unflushed > this.limits.bufferEvents || this.res.writableLength > this.limits.bufferBytes;
  }

  /** Catch-up: write, waiting for the socket when it is full (history is read only as fast as it is taken). */
  private async writeWaiting(e: LogEvent): Promise<void> {
    if (this.ended) return;
    const ok = this.res.write(this.message(e));
    this.after = e.position;
    if (!ok) await new Promise<void>((resolve) => {
      const done = () => {
        this.res.off('drain', done);
        this.res.off('close', done);
        resolve();
      };
      this.res.on('drain', done);
      this.res.on('close', done);
    });
  }

  private message(e: LogEvent): string {
    return `id: ${e.position}\nevent: event\ndata: ${this.source.render(e)}\n\n`;
  }

  /** Fell behind: disconnect now (what is queued is dropped with it; the client resumes by id). */
  private drop(): void {
    if (this.ended) return;
    this.source.onDropped?.();
    this.cleanUp();
    this.res.destroy();
  }

  /** The process is stopping: end the stream. */
  close(): void {
    if (this.ended) return;
    this.cleanUp();
    this.res.end();
  }

  private cleanUp(): void {
    this.ended = true;
    clearInterval(this.heartbeat);
    this.source.feed.leave(this);
  }
}
