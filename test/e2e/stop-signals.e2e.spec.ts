/**
 * Ctrl-C on `npm start` delivers SIGINT twice (the terminal's, then npm's forward). A second
 * signal within the stop window is the same request to stop: the process drains and exits 0.
 * A second signal after the window is "exit now": exit 1 at once.
 *
 * To keep the drain long enough to signal during it, each test holds one request in flight:
 * its body never arrives, so the server's close waits for it until the shutdown deadline.
 */
import net from 'node:net';
import { expect } from 'chai';
import { freshDeployment, killStartedProcesses, startServer, waitForLog, type ServerProcess } from '../support/e2e-process';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Opens a connection and sends a request whose body never comes; returns the socket to close. */
async function requestInFlight(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.on('error', () => undefined);
  socket.write('POST /v1/accounts HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{');
  await sleep(200); // the server has parsed the headers: the request is in flight
  return socket;
}

const logged = (p: ServerProcess, msg: string) =>
  p.stdout().split('\n').some((line) => line.startsWith('{') && (JSON.parse(line) as { msg?: string }).msg === msg);

describe('stop signals (Ctrl-C through npm)', function () {
  this.timeout(60_000);
  const sockets: net.Socket[] = [];
  afterEach(() => sockets.splice(0).forEach((s) => s.destroy()));
  after(killStartedProcesses);

  async function started(label: string): Promise<ServerProcess> {
    const env = await freshDeployment(label);
    const p = await startServer(env, { ROLE: 'all', LOG_LEVEL: 'info', SHUTDOWN_TIMEOUT_MS: '3000' });
    await waitForLog(p, 'tributary started');
    sockets.push(await requestInFlight(p.port));
    return p;
  }

  it('drains and exits 0 when SIGINT arrives twice 50 ms apart', async () => {
    const p = await started('e2e_sig_twice');
    const begin = Date.now();
    p.child.kill('SIGINT');
    await sleep(50);
    p.child.kill('SIGINT');
    const exit = await p.exited;
    expect(exit, `${p.stderr()}\n${p.stdout().slice(-2_000)}`).to.deep.equal({ code: 0, signal: null });
    expect(logged(p, 'tributary stopped'), p.stdout().slice(-2_000)).to.equal(true);
    expect(p.stderr()).not.to.include('exiting now');
    // It waited for the request in flight (deadline 3 s, connections cut 500 ms before it).
    expect(Date.now() - begin).to.be.above(1_500);
  });

  it('exits 1 at once on a second SIGINT after the window', async () => {
    const p = await started('e2e_sig_late');
    p.child.kill('SIGINT');
    await sleep(1_200);
    expect(p.hasExited(), 'still draining (a request is in flight)').to.equal(false);
    const begin = Date.now();
    p.child.kill('SIGINT');
    const exit = await p.exited;
    expect(exit.code, p.stderr()).to.equal(1);
    expect(Date.now() - begin).to.be.below(1_000);
    expect(p.stderr()).to.include('second SIGINT: exiting now');
    expect(logged(p, 'tributary stopped')).to.equal(false);
  });
});
