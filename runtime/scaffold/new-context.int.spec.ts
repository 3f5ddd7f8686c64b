import { expect } from 'chai';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { newContext, placeholders } from './new-context';

const run = promisify(execFile);
const REPO = path.resolve(__dirname, '..', '..');

/**
 * `tributary new context`: a generated context typechecks and passes its own unit and
 * integration tests as generated (real Postgres and Redis), loaded from a folder of its own
 * (CONTEXTS_DIR) inside this repository. The child processes are awaited, so none outlives a test.
 */
describe('tributary new context (integration: tsc, mocha, Postgres, Redis)', function () {
  this.timeout(240_000);
  const scratch = path.join(REPO, '.scratch', `scaffold-${randomBytes(3).toString('hex')}`);
  after(() => fs.rmSync(scratch, { recursive: true, force: true }));

  it('derives the names from the context name, and refuses names that are not lower-case words with dashes', () => {
    const values = Object.fromEntries(placeholders({ name: 'gift-cards', now: new Date('2026-06-01T12:34:56Z') }));
    expect(values).to.include({ __context__: 'gift-cards', __aggtype__: 'gift-card', __Agg__: 'GiftCard', __agg__: 'giftCard', __AGG__: 'GIFT_CARD', __table__: 'gift_cards', __ctx__: 'giftCards', __migration__: '20260601123456' });
    for (const bad of ['Parcels', '1parcels', 'parcels-', 'par--cels', 'par_cels', '']) expect(() => placeholders({ name: bad }), bad).to.throw(/must be lower-case/);
  });

  it('generates a context that typechecks and passes its own tests, and refuses to overwrite it', async () => {
    const { dir, files } = newContext({ name: 'parcels', dir: scratch });
    expect(files).to.include.members(['contract.ts', 'index.ts', 'parcel.machine.ts', 'parcel.aggregate.ts', 'read-model.ts', 'routes.ts', 'reactions.ts', 'test/parcel.decider.unit.spec.ts', 'test/parcels.int.spec.ts']);
    expect(files.filter((f) => /^migrations\/\d{14}_parcels_read_model\.ts$/.test(f))).to.have.length(1);
    expect(() => newContext({ name: 'parcels', dir: scratch })).to.throw(/exists already/);

    fs.writeFileSync(path.join(scratch, 'tsconfig.json'), JSON.stringify({ extends: path.relative(scratch, path.join(REPO, 'tsconfig.json')), include: ['.'] }));
    const tsc = await run(process.execPath, [path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '-p', scratch], { cwd: REPO }).catch((err: { stdout: string }) => ({ stdout: err.stdout, failed: true }));
    expect(tsc.stdout).to.equal('');

    const mocha = await run(process.execPath, [path.join(REPO, 'node_modules', 'mocha', 'bin', 'mocha.js'), '--reporter', 'dot', path.join(dir, 'test', '*.spec.ts')], { cwd: REPO, env: { ...process.env, TEST_LOG_LEVEL: 'silent' } })
      .catch((err: { stdout: string; stderr: string }) => ({ stdout: `${err.stdout}\n${err.stderr}` }));
    expect(mocha.stdout).to.match(/5 passing/);
    expect(mocha.stdout).not.to.match(/failing/);
  });
});
