import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';

/**
 * ops/Dockerfile ships what its processes run: every relative import of every TypeScript file
 * it copies into the final image resolves to a file it also copies (no image can start a module
 * that imports the test helpers it leaves out), and nothing it copies is excluded by
 * .dockerignore. Read from the files, since there is no Docker engine here to build it.
 */

const REPO = path.join(__dirname, '..', '..');
const dockerfile = fs.readFileSync(path.join(REPO, 'ops', 'Dockerfile'), 'utf8');

/** Sources the final stage copies from the build context (not `--from=` another stage). */
function copiedFromContext(): string[] {
  const finalStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  return [...finalStage.matchAll(/^COPY (?!--from)(.+)$/gm)].flatMap((m) => {
    const parts = m[1].trim().split(/\s+/);
    return parts.slice(0, -1);
  });
}

function filesUnder(rel: string): string[] {
  const full = path.join(REPO, rel);
  if (!fs.existsSync(full)) return [];
  if (fs.statSync(full).isFile()) return [rel];
  return fs.readdirSync(full).flatMap((f) => filesUnder(path.join(rel, f)));
}

/** .dockerignore patterns as simple prefixes and `**` globs (what the file uses). */
function ignored(rel: string): boolean {
  const patterns = fs.readFileSync(path.join(REPO, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  return patterns.some((p) => {
    const re = new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*\*\//g, '\0').replace(/\*/g, '[^/]*').replace(/\0/g, '(.*/)?')}(/.*)?$`);
    return re.test(rel);
  });
}

describe('ops/Dockerfile', () => {
  const shipped = copiedFromContext().flatMap(filesUnder).filter((f) => !ignored(f));
  const inImage = new Set(shipped);

  it('copies the runtime, the contexts and the invariant check, and not the benchmarks or the tests', () => {
    expect(copiedFromContext()).to.include.members(['runtime', 'contexts', 'ops/check']);
    expect(shipped.some((f) => f.startsWith('ops/bench/'))).to.equal(false);
    expect(shipped.some((f) => f.startsWith('test/') || f.endsWith('.spec.ts'))).to.equal(false);
  });

  it('copies the console from the stage that builds it', () => {
    expect(dockerfile).to.match(/^RUN npm run build:console$/m);
    expect(dockerfile).to.match(/^COPY --from=console \/app\/dist\/console \.\/dist\/console$/m);
  });

  it('ships every module that a shipped module imports', () => {
    const missing: string[] = [];
    for (const file of shipped.filter((f) => f.endsWith('.ts'))) {
      const source = fs.readFileSync(path.join(REPO, file), 'utf8');
      for (const [, spec] of source.matchAll(/(?:from|import|require)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
        const base = path.normalize(path.join(path.dirname(file), spec));
        const candidates = [base, `${base}.ts`, `${base}.tsx`, `${base}.js`, path.join(base, 'index.ts')];
        if (!candidates.some((c) => inImage.has(c))) missing.push(`${file} imports ${spec}`);
      }
    }
    expect(missing).to.deep.equal([]);
  });
});
