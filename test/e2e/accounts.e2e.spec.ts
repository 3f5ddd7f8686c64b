/**
 * The accounts API end to end, through real processes and real HTTP, in both deployment
 * layouts: one process with every role, and a web process beside a worker process that
 * share the database and the Redis prefix. The worker's activation is what moves a new
 * account to ACCOUNT_ACTIVE, so these tests also prove outbox → Redis → consumer works.
 */
import { expect } from 'chai';
import { eventually } from '../support/runtime';
import { freshDeployment, killStartedProcesses, startServer, type ServerProcess } from '../support/e2e-process';
import { client, expectProblem, newProfile, type Client } from '../support/e2e-http';

interface Layout {
  name: string;
  start(label: string): Promise<{ web: ServerProcess; all: ServerProcess[] }>;
}

const layouts: Layout[] = [
  {
    name: 'one process (ROLE=all)',
    async start(label) {
      const all = await startServer(await freshDeployment(label), { ROLE: 'all' });
      return { web: all, all: [all] };
    },
  },
  {
    name: 'web and worker processes (ROLE=web + ROLE=worker)',
    async start(label) {
      const env = await freshDeployment(label);
      const [web, worker] = await Promise.all([startServer(env, { ROLE: 'web' }), startServer(env, { ROLE: 'worker' })]);
      return { web, all: [web, worker] };
    },
  },
];

const ACCOUNTS = '/v1/accounts';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function activeAccount(api: Client, id: string) {
  return eventually(async () => {
    const r = await api.get(`${ACCOUNTS}/${id}`);
    return r.body.status === 'ACCOUNT_ACTIVE' && r.body;
  }, 15_000);
}

for (const layout of layouts) {
  describe(`accounts end to end: ${layout.name}`, function () {
    this.timeout(40_000);
    let processes: ServerProcess[] = [];
    let api: Client;
    const profile = newProfile('Ada');
    let accountId = '';

    before(async function () {
      this.timeout(60_000); // start-up takes seconds on a busy machine (tsx compiles on load)
      const started = await layout.start(`e2e_accounts_${layouts.indexOf(layout)}`);
      processes = started.all;
      api = client(started.web.url);
    });

    after(killStartedProcesses);

    it('registers an account: 201, HAL resource, Location, ACCOUNT_CREATED', async () => {
      const r = await api.post(ACCOUNTS, { firstName: profile.firstName, lastName: profile.lastName, email: profile.email.toUpperCase() });
      expect(r.status, JSON.stringify(r.body)).to.equal(201);
      expect(r.contentType).to.match(/^application\/hal\+json/);
      expect(r.body.accountId).to.match(UUID);
      accountId = r.body.accountId;
      expect(r.headers.get('location')).to.equal(`${ACCOUNTS}/${accountId}`);
      expect(r.body).to.include({ status: 'ACCOUNT_CREATED', firstName: 'Ada', email: profile.email, version: 1 });
      const self = `${ACCOUNTS}/${accountId}`;
      expect(r.body._links).to.deep.equal({
        self: { href: self },
        commands: { href: `${self}/commands` },
        events: { href: `${self}/events` },
        orders: { href: `${self}/orders` },
      });
    });

    it('becomes ACCOUNT_ACTIVE through the worker, with CREATED, CONFIRMED, ACTIVATED in its log', async () => {
      const account = await activeAccount(api, accountId);
      expect(account.version).to.equal(3);
      const log = await api.get(`${ACCOUNTS}/${accountId}/events`);
      expect(log.status).to.equal(200);
      expect(log.contentType).to.match(/^application\/hal\+json/);
      const events = log.body._embedded.accountEventList as Record<string, any>[];
      expect(events.map((e) => e.type)).to.deep.equal(['ACCOUNT_CREATED', 'ACCOUNT_CONFIRMED', 'ACCOUNT_ACTIVATED']);
      expect(events.map((e) => e.version)).to.deep.equal([1, 2, 3]);
      for (const e of events) {
        expect(e.eventId).to.match(UUID);
        expect(Number.isNaN(Date.parse(e.createdAt))).to.equal(false);
        expect(e._links.self.href).to.equal(`${ACCOUNTS}/${accountId}/events/${e.eventId}`);
        expect(e._links.account.href).to.equal(`${ACCOUNTS}/${accountId}`);
      }
      // One business transaction: the worker's events are caused by the registration.
      expect(new Set(events.map((e) => e.correlationId)).size).to.equal(1);
    });

    it('serves one event by id, and 404 for an event of another account', async () => {
      const events = (await api.get(`${ACCOUNTS}/${accountId}/events`)).body._embedded.accountEventList as Record<string, any>[];
      const one = await api.get(events[1]._links.self.href);
      expect(one.status).to.equal(200);
      expect(one.body).to.include({ eventId: events[1].eventId, type: 'ACCOUNT_CONFIRMED', version: 2 });

      const other = await api.post(ACCOUNTS, newProfile('Other'));
      expect(other.status).to.equal(201);
      const otherLog = await api.get(`${ACCOUNTS}/${other.body.accountId}/events`);
      const foreignEventId = otherLog.body._embedded.accountEventList[0].eventId as string;
      expectProblem(await api.get(`${ACCOUNTS}/${accountId}/events/${foreignEventId}`), 404);
    });

    it('pages the collection with next and prev links', async () => {
      expect((await api.post(ACCOUNTS, newProfile('Third'))).status).to.equal(201);
      const first = await api.get(`${ACCOUNTS}?page=0&size=2`);
      expect(first.status).to.equal(200);
      expect(first.body.page).to.deep.equal({ number: 0, size: 2, totalElements: 3, totalPages: 2 });
      expect(first.body._embedded.accountList).to.have.length(2);
      expect(first.body._embedded.accountList[0].accountId).to.equal(accountId, 'oldest first');
      expect(first.body._links.next.href).to.equal(`${ACCOUNTS}?page=1&size=2`);
      expect(first.body._links).to.not.have.property('prev');

      const second = await api.get(first.body._links.next.href);
      expect(second.body._embedded.accountList).to.have.length(1);
      expect(second.body._links.prev.href).to.equal(`${ACCOUNTS}?page=0&size=2`);
      expect(second.body._links).to.not.have.property('next');
      const ids = [...first.body._embedded.accountList, ...second.body._embedded.accountList].map((a: { accountId: string }) => a.accountId);
      expect(new Set(ids).size).to.equal(3);

      expectProblem(await api.get(`${ACCOUNTS}?size=1000`), 400);
    });

    it('lists only suspend and archive as commands of an active account', async () => {
      const r = await api.get(`${ACCOUNTS}/${accountId}/commands`);
      expect(r.status).to.equal(200);
      expect(r.body.status).to.equal('ACCOUNT_ACTIVE');
      const commands = Object.keys(r.body._links).filter((rel) => rel !== 'self' && rel !== 'account');
      expect(commands).to.deep.equal(['suspend', 'archive']);
      expect(r.body._links.suspend.href).to.equal(`${ACCOUNTS}/${accountId}/commands/suspend`);
    });

    it('suspends (200), refuses a second suspend (409 with the reason), and re-activates', async () => {
      const suspended = await api.post(`${ACCOUNTS}/${accountId}/commands/suspend`);
      expect(suspended.status, JSON.stringify(suspended.body)).to.equal(200);
      expect(suspended.body.status).to.equal('ACCOUNT_SUSPENDED');

      const again = await api.post(`${ACCOUNTS}/${accountId}/commands/suspend`);
      expectProblem(again, 409, 'The account is already suspended');

      const commands = await api.get(`${ACCOUNTS}/${accountId}/commands`);
      expect(Object.keys(commands.body._links).filter((rel) => rel !== 'self' && rel !== 'account')).to.deep.equal(['activate']);

      const active = await api.post(`${ACCOUNTS}/${accountId}/commands/activate`);
      expect(active.status).to.equal(200);
      expect(active.body.status).to.equal('ACCOUNT_ACTIVE');
      expect((await api.get(`${ACCOUNTS}/${accountId}`)).body.status).to.equal('ACCOUNT_ACTIVE');
    });

    it('updates the profile with PUT (status unchanged, ACCOUNT_UPDATED logged); refuses status in the body', async () => {
      const changed = { ...profile, firstName: 'Augusta' };
      const r = await api.put(`${ACCOUNTS}/${accountId}`, changed);
      expect(r.status, JSON.stringify(r.body)).to.equal(200);
      expect(r.body).to.include({ firstName: 'Augusta', status: 'ACCOUNT_ACTIVE' });
      const types = (await api.get(`${ACCOUNTS}/${accountId}/events`)).body._embedded.accountEventList.map((e: { type: string }) => e.type);
      expect(types.at(-1)).to.equal('ACCOUNT_UPDATED');

      const before = (await api.get(`${ACCOUNTS}/${accountId}`)).body;
      expectProblem(await api.put(`${ACCOUNTS}/${accountId}`, { ...changed, status: 'ACCOUNT_ARCHIVED' }), 400);
      const after = (await api.get(`${ACCOUNTS}/${accountId}`)).body;
      expect(after).to.include({ status: 'ACCOUNT_ACTIVE', version: before.version });
    });

    it('refuses a second account with the same email (409)', async () => {
      expectProblem(await api.post(ACCOUNTS, { ...profile, firstName: 'Copy' }), 409, 'An account with the supplied email already exists');
      const list = await api.get(`${ACCOUNTS}?size=200`);
      expect(list.body.page.totalElements).to.equal(3);
    });

    it('answers 404 problem+json for an unknown account and for a malformed id', async () => {
      expectProblem(await api.get(`${ACCOUNTS}/00000000-0000-4000-8000-000000000000`), 404);
      expectProblem(await api.get(`${ACCOUNTS}/not-a-uuid`), 404);
    });

    it('lists the accounts collection at GET /v1', async () => {
      const r = await api.get('/v1');
      expect(r.status).to.equal(200);
      expect(r.body._links.accounts).to.deep.equal({ href: '/v1/accounts{?page,size,status}', templated: true });
    });

    it('answers /healthz and /readyz on every process', async () => {
      for (const p of processes) {
        const c = client(p.url);
        expect((await c.get('/healthz')).status).to.equal(200);
        const ready = await c.get('/readyz');
        expect(ready.status).to.equal(200);
        expect(ready.body.checks).to.deep.equal({ postgres: 'up', redis: 'up' });
      }
      // A worker-only process serves probes, not the API.
      for (const p of processes.filter((x) => x.env.ROLE === 'worker')) expectProblem(await client(p.url).get(ACCOUNTS), 404);
    });

    it('stops every process on SIGTERM with exit code 0', async () => {
      const exits = await Promise.all(processes.map((p) => p.stop()));
      for (const [i, exit] of exits.entries()) {
        expect(exit, processes[i].stderr()).to.deep.include({ code: 0, signal: null });
        expect(exit.ms).to.be.below(7_000);
      }
    });
  });
}
