import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CONTEXTS_DIR, availableContexts, discoverContexts, loadContexts } from './context';
import { loadConfig } from './config';
import { StartupError } from './errors';

/** Loading context plugins: the bundled ones plus every directory of CONTEXTS_DIR. */
const REPO = path.resolve(__dirname, '..');
const FIXTURES = path.join(REPO, 'test', 'fixtures', 'contexts');

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-contexts-'));
}

function startupError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(StartupError);
    return (err as Error).message;
  }
  throw new Error('expected a StartupError');
}

describe('loading contexts (CONTEXTS_DIR)', () => {
  const made: string[] = [];
  after(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  const temp = () => {
    const d = tempDir();
    made.push(d);
    return d;
  };

  it('adds the contexts of each extra directory to the bundled ones, and says where each comes from', () => {
    const found = discoverContexts([FIXTURES]);
    expect(found.filter((c) => c.bundled).map((c) => c.name)).to.deep.equal(['accounts', 'orders', 'payments', 'warehouse']);
    expect(found.filter((c) => !c.bundled).map((c) => c.name)).to.deep.equal(['catalog', 'probe']);
    expect(found.find((c) => c.name === 'probe')!.dir).to.equal(path.join(FIXTURES, 'probe'));
    expect(found.find((c) => c.name === 'accounts')!.dir).to.equal(path.join(CONTEXTS_DIR, 'accounts'));
  });

  it("loads every context found for CONTEXTS=all, and exactly the named ones otherwise (how to leave the bundled ones out)", () => {
    expect(loadContexts('all', [FIXTURES]).map((p) => p.name)).to.include.members(['accounts', 'warehouse', 'probe', 'catalog']);
    expect(loadContexts(['probe'], [FIXTURES]).map((p) => p.name)).to.deep.equal(['probe']);
  });

  it('follows a symlinked context folder', () => {
    const dir = temp();
    fs.symlinkSync(path.join(FIXTURES, 'probe'), path.join(dir, 'probe'));
    expect(availableContexts([dir])).to.include('probe');
    expect(loadContexts(['probe'], [dir]).map((p) => p.name)).to.deep.equal(['probe']);
  });

  it('stops with one line naming a directory that is missing, not a directory, or holds no context', () => {
    const missing = path.join(os.tmpdir(), 'tributary-no-such-contexts-dir');
    expect(startupError(() => discoverContexts([missing]))).to.equal(`CONTEXTS_DIR ${missing} does not exist`);
    const file = path.join(temp(), 'file');
    fs.writeFileSync(file, '');
    expect(startupError(() => discoverContexts([file]))).to.equal(`CONTEXTS_DIR ${file} is not a directory`);
    const empty = temp();
    fs.mkdirSync(path.join(empty, 'not-a-context')); // a folder without index.ts
    expect(startupError(() => discoverContexts([empty]))).to.equal(`CONTEXTS_DIR ${empty} holds no context (a folder with an index.ts or index.js)`);
  });

  it('refuses a context name found twice', () => {
    const dir = temp();
    fs.symlinkSync(path.join(FIXTURES, 'probe'), path.join(dir, 'accounts'));
    expect(startupError(() => discoverContexts([dir]))).to.match(/^Context "accounts" is found twice: in .*contexts\/accounts and in .*accounts$/);
  });

  it('reads CONTEXTS_DIR as a comma list of paths, resolved', () => {
    expect(loadConfig({ CONTEXTS_DIR: 'test/fixtures/contexts, /opt/ctx' }).contextsDirs).to.deep.equal([path.resolve('test/fixtures/contexts'), '/opt/ctx']);
    expect(loadConfig({}).contextsDirs).to.deep.equal([]);
  });

  it('`tributary contexts` lists each context with where it was loaded from', function () {
    this.timeout(30_000);
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'runtime/cli.ts', 'contexts'], {
      cwd: REPO,
      env: { ...process.env, CONTEXTS_DIR: 'test/fixtures/contexts' },
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).to.equal(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).to.have.length(6);
    expect(lines[0]).to.match(/^accounts\s+bundled\s+\/.*\/contexts\/accounts$/);
    expect(lines.find((l) => l.startsWith('probe'))).to.match(/^probe\s+CONTEXTS_DIR\s+\/.*\/test\/fixtures\/contexts\/probe$/);
  });
});
