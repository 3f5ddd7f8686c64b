/**
 * A tiny HTTP load balancer for tests: several processes of one deployment behind ONE url,
 * the way an ingress or a Kubernetes Service puts web replicas behind one address.
 *
 * ```ts
 * const pool = await RoundRobinProxy.start([webA.url, webB.url]);
 * await fetch(`${pool.url}/healthz`); // webA
 * await fetch(`${pool.url}/healthz`); // webB
 * await pool.close();
 * ```
 *
 * It balances per request, not per TCP connection: Node's fetch keeps connections alive and
 * reuses them, so a per-connection balancer would send a client's consecutive requests to
 * the same backend and the alternation the tests rely on would not happen.
 */
import http from 'node:http';
import net from 'node:net';

export class RoundRobinProxy {
  private nextBackend = 0;
  /** Requests handed to each backend so far, in the order of `backends`. */
  readonly forwarded: number[];
  /** Keep-alive to the backends, so the proxy adds no connection set-up per request. */
  private readonly agent = new http.Agent({ keepAlive: true });

  private constructor(
    private readonly server: http.Server,
    /** Backend base urls, e.g. `http://127.0.0.1:3001`. */
    readonly backends: readonly URL[],
  ) {
    this.forwarded = backends.map(() => 0);
    server.on('request', (req, res) => this.forward(req, res));
  }

  /** Listens on a free port of 127.0.0.1 and spreads requests over `backendUrls` in turn. */
  static async start(backendUrls: string[]): Promise<RoundRobinProxy> {
    if (backendUrls.length === 0) throw new Error('a round-robin proxy needs at least one backend');
    const server = http.createServer();
    const proxy = new RoundRobinProxy(server, backendUrls.map((u) => new URL(u)));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return proxy;
  }

  /** The one url clients use. */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  /** Stops listening, drops open client connections and the backend connections it keeps. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    this.agent.destroy();
    await closed;
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse): void {
    const index = this.nextBackend;
    this.nextBackend = (index + 1) % this.backends.length;
    this.forwarded[index] += 1;
    const backend = this.backends[index];
    const upstream = http.request(
      { host: backend.hostname, port: backend.port, method: req.method, path: req.url, headers: req.headers, agent: this.agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.on('error', (err) => res.destroy(err));
        answer.pipe(res);
      },
    );
    upstream.on('error', (err) => {
      // A backend that is down answers 502, as a real balancer does; after the head was sent
      // the only honest signal left is to cut the client's connection.
      if (res.destroyed) return; // the client is gone: nobody to answer
      if (res.headersSent) res.destroy(err);
      else res.writeHead(502, { 'content-type': 'text/plain' }).end(`backend ${backend.origin} failed: ${err.message}`);
    });
    // A client that goes away (or `close()`) ends its upstream request too, without an
    // unhandled 'error' event taking the test process down.
    req.on('error', () => upstream.destroy());
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  }
}
