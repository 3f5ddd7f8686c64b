/** A Server-Sent Events reader for tests: real HTTP, messages parsed as they arrive. */
import http from 'node:http';

export interface SseMessage {
  id?: string;
  event?: string;
  data: string;
}

export interface SseConnection {
  status: number;
  headers: http.IncomingHttpHeaders;
  messages: SseMessage[];
  /** Comment lines received (heartbeats). */
  comments: number;
  /** Resolves when the server ends or drops the stream. */
  closed: Promise<void>;
  isClosed(): boolean;
  /** Stops reading from the socket (the client falls behind); `resume()` reads again. */
  pause(): void;
  resume(): void;
  close(): void;
  /** Waits until `n` messages have arrived (or throws after `timeoutMs`). */
  waitFor(n: number, timeoutMs?: number): Promise<SseMessage[]>;
  /** The parsed `data` of every `event` message so far. */
  events<T = any>(): T[];
}

/** Opens `path` on `baseUrl` as an event stream (headers such as Last-Event-ID optional). */
export function openSse(baseUrl: string, path: string, headers: Record<string, string> = {}): Promise<SseConnection> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${baseUrl}${path}`, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      const messages: SseMessage[] = [];
      let comments = 0;
      let buffer = '';
      let closed = false;
      const waiters = new Set<() => void>();
      const closedP = new Promise<void>((done) => {
        const end = () => {
          closed = true;
          for (const w of waiters) w();
          done();
        };
        res.on('end', end);
        res.on('close', end);
        res.on('error', end);
        // A paused response emits no 'close' until it is read: the socket tells at once.
        res.socket.on('close', end);
        res.socket.on('error', end);
      });
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let i: number;
        while ((i = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, i);
          buffer = buffer.slice(i + 2);
          const m: SseMessage = { data: '' };
          let isComment = true;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            isComment = false;
            const [field, ...rest] = line.split(':');
            const value = rest.join(':').replace(/^ /, '');
            if (field === 'id') m.id = value;
            else if (field === 'event') m.event = value;
            else if (field === 'data') m.data = m.data ? `${m.data}\n${value}` : value;
          }
          if (isComment) comments++;
          else if (m.event || m.data) messages.push(m);
        }
        for (const w of waiters) w();
      });
      const conn: SseConnection = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        messages,
        get comments() {
          return comments;
        },
        closed: closedP,
        isClosed: () => closed,
        pause: () => res.pause(),
        resume: () => res.resume(),
        close: () => req.destroy(),
        waitFor(n, timeoutMs = 10_000) {
          return new Promise((ok, fail) => {
            const check = () => {
              if (messages.filter((x) => x.event === 'event').length >= n) {
                cleanup();
                ok(messages);
              } else if (closed) {
                cleanup();
                fail(new Error(`stream closed after ${messages.length} messages, waiting for ${n}`));
              }
            };
            const timer = setTimeout(() => {
              cleanup();
              fail(new Error(`only ${messages.filter((x) => x.event === 'event').length} of ${n} events within ${timeoutMs} ms`));
            }, timeoutMs);
            const cleanup = () => {
              clearTimeout(timer);
              waiters.delete(check);
            };
            waiters.add(check);
            check();
          });
        },
        events: () => messages.filter((x) => x.event === 'event').map((x) => JSON.parse(x.data)),
      } as SseConnection;
      resolve(conn);
    });
    req.on('error', reject);
  });
}
