import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ContextPlugin, RuntimeServices } from './context';
import { createWebApp } from './http/web-app';
import type { Lifecycle } from './http/health';
import type { Authenticator } from './auth';
import { closeEventStreams } from './http/console-api';
import { StartupError } from './errors';

/** The listening HTTP server of a process. */
export interface WebRole {
  server: Server;
  /** Its base URL (loopback when it listens on every interface). */
  url: string;
  /** Stops accepting, lets requests in flight finish, and cuts the connections left 500 ms before `deadline`. */
  close(deadline: number): Promise<void>;
}

/**
 * Starts the HTTP server. Every process listens: with `api` false (a worker alone) it
 * answers only /healthz, /readyz and /metrics (container and k8s probes); with it, the
 * contexts' routes, the console and the ops API too.
 */
export async function startWebRole(services: RuntimeServices, plugins: ContextPlugin[], lifecycle: Lifecycle, api: boolean, auth: Authenticator): Promise<WebRole> {
  const { config } = services;
  const app = createWebApp(services, api ? plugins : [], lifecycle, api, auth);
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.port, config.host, () => resolve(s));
    s.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE' || err.code === 'EACCES'
          ? new StartupError(`Cannot listen on ${config.host}:${config.port} (${err.code}): stop the process that holds it or set PORT`)
          : err,
      ),
    );
  });
  server.requestTimeout = config.http.requestTimeoutMs + 5_000;
  const address = server.address() as AddressInfo;
  const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${address.port}`;
  const close = (deadline: number) => {
    // Event streams never end on their own: end them first, or the server's close waits for them.
    closeEventStreams(services);
    return new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), Math.max(0, deadline - Date.now() - 500)).unref();
    });
  };
  return { server, url, close };
}
