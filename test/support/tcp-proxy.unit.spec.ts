import { expect } from 'chai';
import net from 'node:net';
import { TcpProxy } from './tcp-proxy';

/** A client connection that collects what it receives and how it ended. */
interface Probe {
  socket: net.Socket;
  received: () => string;
  /** Resolves with the error code ('ECONNRESET') or 'closed' when the connection ends. */
  ended: Promise<string>;
}

function connect(port: number): Probe {
  const socket = net.connect({ host: '127.0.0.1', port });
  let data = '';
  socket.setEncoding('utf8').on('data', (d: string) => (data += d));
  const ended = new Promise<string>((resolve) => {
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    socket.once('close', () => resolve('closed'));
  });
  return { socket, received: () => data, ended };
}

async function until(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('TcpProxy (fault injection for tests)', function () {
  this.timeout(10_000);
  let echo: net.Server;
  let proxy: TcpProxy;
  const clients: net.Socket[] = [];
  const open = (port = proxy.port) => {
    const c = connect(port);
    clients.push(c.socket);
    return c;
  };

  before(async () => {
    echo = net.createServer((s) => s.on('error', () => undefined).pipe(s));
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  });

  beforeEach(async () => {
    proxy = await TcpProxy.start({ host: '127.0.0.1', port: (echo.address() as net.AddressInfo).port });
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    await proxy.close();
  });

  after(() => new Promise<void>((resolve) => echo.close(() => resolve())));

  it('forwards both ways on a port of its own', async () => {
    const c = open();
    c.socket.write('ping');
    await until(() => c.received() === 'ping');
    expect(proxy.port).to.not.equal((echo.address() as net.AddressInfo).port);
    expect(proxy.openConnections).to.equal(1);
    expect(proxy.accepted).to.equal(1);
  });

  it('cut() resets every open connection and every new one, until restore()', async () => {
    const before = open();
    before.socket.write('a');
    await until(() => before.received() === 'a');
    proxy.cut();
    expect(proxy.isCut).to.equal(true);
    expect(await before.ended).to.equal('ECONNRESET');
    const during = open();
    during.socket.write('b');
    expect(await during.ended).to.be.oneOf(['ECONNRESET', 'closed']);
    expect(during.received()).to.equal('');
    expect(proxy.openConnections).to.equal(0);

    proxy.restore();
    const after = open();
    after.socket.write('c');
    await until(() => after.received() === 'c');
    expect(proxy.accepted).to.equal(3);
  });

  it("cut('blackhole') delivers nothing but keeps sockets open; restore() resets them and forwards new ones", async () => {
    const held = open();
    held.socket.write('a');
    await until(() => held.received() === 'a');
    proxy.cut('blackhole');
    held.socket.write('lost');
    const silent = open();
    await new Promise((r) => silent.socket.once('connect', r)); // accepted...
    silent.socket.write('x');
    await sleep(150);
    expect(held.received()).to.equal('a'); // ...but nothing comes back
    expect(silent.received()).to.equal('');
    expect(proxy.openConnections).to.equal(2);

    proxy.restore();
    expect(await held.ended).to.equal('ECONNRESET');
    expect(await silent.ended).to.equal('ECONNRESET');
    const fresh = open();
    fresh.socket.write('y');
    await until(() => fresh.received() === 'y');
  });

  it('close() resets what is open and stops listening', async () => {
    const c = open();
    c.socket.write('a');
    await until(() => c.received() === 'a');
    const port = proxy.port;
    await proxy.close();
    expect(await c.ended).to.equal('ECONNRESET');
    const refused = open(port);
    expect(await refused.ended).to.equal('ECONNREFUSED');
    await proxy.close(); // a second close (afterEach) is harmless
  });
});
