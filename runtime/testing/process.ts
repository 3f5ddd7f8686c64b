/**
 * Runs the real CLI (`tributary start`, the package's bin) as a child process, the way an
 * operator does, and talks to it over real HTTP. From the runtime's TypeScript source (this
 * repository, tests under tsx) the child runs `runtime/cli.ts` through tsx in the repository
 * (whose tsconfig maps `@tributary/runtime` to the source, so contexts share the child's
 * runtime); from the built package it runs `dist/cli.js` with plain node in the caller's
 * working directory. Every child is tracked by pid so a failed test cannot leave
 * one running: `killStartedProcesses()` in an `after` hook, and a last resort on exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { testEnv, type TestEnv } from './runtime';

/** Whether this kit runs from the TypeScript source (development) or from the build (`dist/`). */
const FROM_SOURCE = __filename.endsWith('.ts');

/** The runtime package's folder (`runtime/`), from `runtime/testing` or `runtime/dist/testing`. */
const PACKAGE_ROOT = path.resolve(__dirname, '..', ...(FROM_SOURCE ? [] : ['..']));

/** How to run the `tributary` bin: its command line and working directory. */
function cliCommand(args: string[]): { argv: string[]; cwd: string } {
  if (FROM_SOURCE) return { argv: ['--import', 'tsx', path.join(PACKAGE_ROOT, 'cli.ts'), ...args], cwd: path.dirname(PACKAGE_ROOT) };
  return { argv: [path.join(PACKAGE_ROOT, 'dist', 'cli.js'), ...args], cwd: process.cwd() };
}

/**
 * Settings that keep a test deployment fast, as testConfig uses in-process. Which contexts
 * load is the caller's choice (`CONTEXTS`; every one found when unset).
 */
export const FAST_SETTINGS: Record<string, string> = {
  HOST: '127.0.0.1',
  LOG_LEVEL: 'warn',
  RELAY_POLL_MS: '50',
  CONSUMER_BLOCK_MS: '100',
  CONSUMER_RETRY_BASE_MS: '20',
  CONSUMER_CLAIM_IDLE_MS: '1000',
  SHUTDOWN_TIMEOUT_MS: '5000',
};

/** A port nothing listens on right now (listen on 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface CliProcess {
  pid: number;
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited. */
  exited: Promise<Exit>;
  hasExited(): boolean;
}

export interface ServerProcess extends CliProcess {
  port: number;
  url: string;
  env: Record<string, string>;
  /** How long it took from spawn to `/readyz` 200. */
  readyMs: number;
  /** SIGTERM, then wait for the exit (at most `timeoutMs`); returns the exit and how long it took. */
  stop(timeoutMs?: number): Promise<Exit & { ms: number }>;
}

const started = new Set<ChildProcess>();

function killByPid(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

// Last resort if mocha itself is torn down before the `after` hooks run.
process.once('exit', () => {
  for (const child of started) killByPid(child);
});

/** Kills (by pid) every child this test run started that is still alive. */
export async function killStartedProcesses(): Promise<void> {
  const alive = [...started].filter((c) => c.exitCode === null && c.signalCode === null);
  for (const child of alive) killByPid(child);
  await Promise.all(alive.map((c) => new Promise((resolve) => (c.exitCode !== null || c.signalCode !== null ? resolve(undefined) : c.once('exit', resolve)))));
  started.clear();
}

/** Spawns the `tributary` bin with `args` and exactly this environment on top of ours. */
export function spawnCli(env: Record<string, string>, args: string[] = ['start']): CliProcess {
  const { argv, cwd } = cliCommand(args);
  const child = spawn(process.execPath, argv, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error('could not spawn the CLI');
  started.add(child);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let done = false;
  void exited.then(() => {
    done = true;
    started.delete(child);
  });
  return { pid: child.pid, child, stdout: () => out, stderr: () => err, exited, hasExited: () => done };
}

/** Runs the CLI to its end (start-up failures): exit code and output. */
export async function runCliToExit(env: Record<string, string>, timeoutMs = 45_000): Promise<Exit & { stdout: string; stderr: string; ms: number }> {
  const begin = Date.now();
  const p = spawnCli(env);
  const timer = setTimeout(() => killByPid(p.child), timeoutMs);
  const exit = await p.exited;
  clearTimeout(timer);
  if (exit.signal === 'SIGKILL') throw new Error(`the CLI did not exit within ${timeoutMs} ms; stderr: ${p.stderr()}`);
  return { ...exit, stdout: p.stdout(), stderr: p.stderr(), ms: Date.now() - begin };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class PortTaken extends Error {}

/**
 * Starts `tributary start` on a free port with the given deployment environment and waits
 * until it answers `/readyz` 200 itself. Fails with the child's stderr if it exits first.
 *
 * A port found free can be taken by another process (other test runs on the host) before
 * the child binds it. So readiness counts only when `/healthz` reports the child's pid, and
 * a child that lost its port to someone else is started again on another one.
 */
export interface StartOptions {
  readyTimeoutMs?: number;
  /** Settings under the deployment's and `extra` (default {@link FAST_SETTINGS}). */
  fastSettings?: Record<string, string>;
  /** How often readiness is probed; small values catch a process in its first ready moment. */
  pollMs?: number;
}

export async function startServer(deployment: TestEnv | Record<string, string>, extra: Record<string, string> = {}, options: StartOptions = {}): Promise<ServerProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnFreePort(deployment, extra, { readyTimeoutMs: 45_000, pollMs: 100, fastSettings: FAST_SETTINGS, ...options });
    } catch (err) {
      if (!(err instanceof PortTaken) || attempt === 3) throw err;
    }
  }
}

async function answersAsItself(url: string, pid: number): Promise<boolean> {
  const health = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1_000) });
  const body = (await health.json()) as { pid?: number };
  if (body.pid !== undefined && body.pid !== pid) return false; // another process holds the port
  const ready = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1_000) });
  await ready.arrayBuffer();
  return ready.status === 200;
}

async function startOnFreePort(
  deployment: TestEnv | Record<string, string>,
  extra: Record<string, string>,
  { readyTimeoutMs, pollMs, fastSettings }: Required<StartOptions>,
): Promise<ServerProcess> {
  const port = await freePort();
  const env: Record<string, string> = { ...fastSettings, ...(deployment as Record<string, string>), ...extra, PORT: String(port) };
  const p = spawnCli(env);
  const url = `http://127.0.0.1:${port}`;
  const begin = Date.now();
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (p.hasExited()) {
      const exit = await p.exited;
      if (/EADDRINUSE/.test(p.stderr())) throw new PortTaken(`port ${port} was taken`);
      throw new Error(`tributary exited (code ${exit.code}, signal ${exit.signal}) before it was ready; stderr:\n${p.stderr()}\nstdout:\n${p.stdout()}`);
    }
    try {
      if (await answersAsItself(url, p.pid)) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      killByPid(p.child);
      throw new Error(`tributary was not ready within ${readyTimeoutMs} ms; stderr:\n${p.stderr()}\nstdout:\n${p.stdout().slice(-2_000)}`);
    }
    await sleep(pollMs);
  }
  const stop = async (timeoutMs = 10_000) => {
    const begin = Date.now();
    if (!p.hasExited()) p.child.kill('SIGTERM');
    const timer = setTimeout(() => killByPid(p.child), timeoutMs);
    const exit = await p.exited;
    clearTimeout(timer);
    return { ...exit, ms: Date.now() - begin };
  };
  return { ...p, port, url, env, stop, readyMs: Date.now() - begin };
}

/** Waits until the process has logged a line with this `msg` (needs LOG_LEVEL to include it). */
export async function waitForLog(p: CliProcess, msg: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const logged = () => p.stdout().split('\n').some((line) => line.startsWith('{') && (JSON.parse(line) as { msg?: string }).msg === msg);
  while (!logged()) {
    if (p.hasExited()) throw new Error(`the process exited before logging "${msg}"; stderr:\n${p.stderr()}`);
    if (Date.now() > deadline) throw new Error(`no "${msg}" log line within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** A fresh deployment (own database and Redis prefix) for processes to share. */
export const freshDeployment = (label: string) => testEnv(label);
