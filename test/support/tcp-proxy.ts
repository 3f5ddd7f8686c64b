/**
 * A TCP proxy for fault tests: a process under test connects to the proxy instead of the real
 * service (Postgres, Redis), and the test cuts and restores the link at will. This simulates a
 * service that goes away and comes back without touching the shared service of the machine.
 *
 * ```ts
 * const proxy = await TcpProxy.start({ host: '127.0.0.1', port: 5432 });
 * // DATABASE_URL = postgres://postgres@127.0.0.1:${proxy.port}/db
 * proxy.cut();      // every open connection is reset, new ones are reset on arrival
 * proxy.restore();  // connections are forwarded again
 * await proxy.close();
 * ```
 */
import net from 'node:net';

/** Where the proxy forwards to. */
export interface ProxyTarget {
  host: string;
  port: number;
}

/**
 * How a cut link behaves:
 * - `reset`: open connections and new ones are reset (RST): the client sees ECONNRESET at
 *   once, as when a server restarts;
 * - `blackhole`: open connections stay open but nothing is delivered either way, and new ones
 *   are accepted but never answered: the client sees nothing at all, as in a network
 *   partition, and only its own timeouts end the wait.
 */
export type CutMode = 'reset' | 'blackhole';

/** One client connection and its upstream twin. */
interface Link {
  client: net.Socket;
  upstream?: net.Socket;
}

export class TcpProxy {
  private readonly links = new Set<Link>();
  private cutMode: CutMode | undefined;
  /** Connections accepted since start (forwarded or not): lets a test see that a client reconnected. */
  accepted = 0;

  private constructor(
    private readonly server: net.Server,
    private readonly target: ProxyTarget,
  ) {
    server.on('connection', (socket) => this.accept(socket));
  }

  /** Listens on 127.0.0.1, on `port` (default: any free port), and forwards to `target`. */
  static async start(target: ProxyTarget, port = 0): Promise<TcpProxy> {
    const server = net.createServer();
    const proxy = new TcpProxy(server, target);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return proxy;
  }

  /** The port the proxy listens on (127.0.0.1). */
  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Whether the link is cut right now. */
  get isCut(): boolean {
    return this.cutMode !== undefined;
  }

  /** Client connections open through the proxy right now. */
  get openConnections(): number {
    return this.links.size;
  }

  /**
   * Cuts the link: in `reset` mode (the default) every open connection is reset now and every
   * new one on arrival; in `blackhole` mode traffic stops flowing but sockets stay open.
   */
  cut(mode: CutMode = 'reset'): void {
    this.cutMode = mode;
    if (mode === 'reset') for (const link of [...this.links]) this.drop(link);
    else for (const link of this.links) this.pause(link);
  }

  /**
   * Forwards again. Connections reset by the cut stay gone (clients reconnect); connections held
   * by a blackhole are reset too, since what they sent meanwhile was dropped and their protocol
   * state is lost, as after a real partition that outlived the server's timeouts.
   */
  restore(): void {
    const held = this.cutMode === 'blackhole' ? [...this.links] : [];
    this.cutMode = undefined;
    for (const link of held) this.drop(link);
  }

  /** Resets every connection and stops listening (again: does nothing). */
  async close(): Promise<void> {
    for (const link of [...this.links]) this.drop(link);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    this.accepted++;
    const link: Link = { client };
    this.links.add(link);
    client.on('error', () => this.drop(link));
    client.on('close', () => this.drop(link));
    if (this.cutMode === 'reset') return this.drop(link);
    if (this.cutMode === 'blackhole') return this.pause(link); // accepted, never answered
    const upstream = net.connect(this.target);
    link.upstream = upstream;
    upstream.on('error', () => this.drop(link));
    upstream.on('close', () => this.drop(link));
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /** Stops the bytes both ways: nothing is read, so nothing is forwarded. */
  private pause(link: Link): void {
    link.client.unpipe();
    link.upstream?.unpipe();
    link.client.pause();
    link.upstream?.pause();
  }

  /** Resets both sides of a link (RST, not FIN: the peer learns at once that it is gone). */
  private drop(link: Link): void {
    if (!this.links.delete(link)) return;
    for (const socket of [link.client, link.upstream]) {
      if (socket && !socket.destroyed) socket.resetAndDestroy();
    }
  }
}
