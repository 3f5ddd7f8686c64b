import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';

/**
 * ops/Dockerfile ships compiled JavaScript and what it needs, and nothing to compile with:
 * - its final stage copies no TypeScript source from the build context, only the build
 *   stage's output (runtime/dist, dist/contexts, dist/ops, dist/console), and runs plain node;
 * - its production dependencies hold neither tsx nor esbuild (the lock marks them dev);
 * - every module the build stage compiles and keeps resolves what it imports: relative imports
 *   to a compiled module that ships, package imports to a production dependency or to an
 *   export of @tributary/runtime.
 * Read from the files, since there is no Docker engine here to build it.
 */

const REPO = path.join(__dirname, '..', '..');
const dockerfile = fs.readFileSync(path.join(REPO, 'ops', 'Dockerfile'), 'utf8');
const lock = JSON.parse(fs.readFileSync(path.join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; devOptional?: boolean; link?: boolean }> };
const runtimePackage = JSON.parse(fs.readFileSync(path.join(REPO, 'runtime', 'package.json'), 'utf8')) as { exports: Record<string, unknown>; bin: Record<string, string> };

const finalStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
const buildStage = dockerfile.slice(dockerfile.indexOf(' AS build\n'), dockerfile.indexOf('\nFROM ', dockerfile.indexOf(' AS build\n')));

/** COPY lines of a stage: sources and destination, and the stage they come from (undefined: the build context). */
function copies(stage: string): { from?: string; sources: string[]; dest: string }[] {
  return [...stage.matchAll(/^COPY (?:--from=(\S+) )?(.+)$/gm)].map((m) => {
    const parts = m[2].trim().split(/\s+/);
    return { from: m[1], sources: parts.slice(0, -1), dest: parts[parts.length - 1] };
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

/**
 * The TypeScript files the build stage compiles into what ships: what it copies in, minus what
 * .dockerignore leaves out, what the build configurations exclude (tests, the console's browser
 * code) and what the stage removes after building.
 */
function compiledAndKept(): string[] {
  const copied = copies(buildStage).filter((c) => !c.from).flatMap((c) => c.sources).filter((s) => !s.endsWith('.json'));
  return copied
    .flatMap(filesUnder)
    .filter((f) => !ignored(f) && f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .filter((f) => !f.endsWith('.spec.ts') && !f.startsWith('runtime/console/src/') && !/^contexts\/[^/]+\/test\//.test(f))
    .filter((f) => !f.startsWith('runtime/testing/') && f !== 'runtime/console/build.ts');
}

/** A package is a production dependency when the lock installs it without --include=dev. */
function productionPackage(name: string): boolean {
  const entry = lock.packages[`node_modules/${name}`];
  return entry !== undefined && !entry.dev && !entry.devOptional;
}

describe('ops/Dockerfile', () => {
  it('copies no source into the final stage: the package manifests from the context, the rest from the build stage', () => {
    const fromContext = copies(finalStage).filter((c) => !c.from).flatMap((c) => c.sources);
    expect(fromContext).to.have.members(['package.json', 'package-lock.json', 'runtime/package.json']);
    const fromBuild = copies(finalStage).filter((c) => c.from === 'build').flatMap((c) => c.sources);
    expect(fromBuild).to.have.members(['/app/runtime/dist', '/app/dist/contexts', '/app/dist/ops', '/app/dist/console']);
    expect(copies(finalStage).filter((c) => c.from === 'prod-deps').flatMap((c) => c.sources)).to.deep.equal(['/app/node_modules']);
  });

  it('builds in a stage with the dev dependencies, and leaves the test kit and the console bundler out', () => {
    expect(dockerfile).to.match(/^FROM deps AS build$/m);
    expect(buildStage).to.match(/^RUN npm run build && rm -rf runtime\/dist\/testing runtime\/dist\/console\/build\.js/m);
    expect(copies(buildStage).flatMap((c) => c.sources)).to.include.members(['runtime', 'contexts', 'ops/check', 'tsconfig.json', 'tsconfig.build.json']);
  });

  it('runs the package bin with plain node: no tsx at run time', () => {
    expect(finalStage).to.match(/^CMD \["node", "runtime\/dist\/cli\.js", "start"\]$/m);
    expect(runtimePackage.bin.tributary).to.equal('./dist/cli.js');
    expect(finalStage).not.to.match(/tsx/);
  });

  it('installs production dependencies without tsx or esbuild', () => {
    expect(dockerfile).to.match(/npm ci --omit=dev/);
    expect(productionPackage('tsx'), 'tsx is a production dependency').to.equal(false);
    expect(productionPackage('esbuild'), 'esbuild is a production dependency').to.equal(false);
    expect(productionPackage('typescript'), 'typescript is a production dependency').to.equal(false);
    expect(lock.packages['node_modules/@tributary/runtime']?.link).to.equal(true);
  });

  it('ships every module that a shipped module imports, and only production packages', () => {
    const compiled = compiledAndKept();
    expect(compiled).to.include.members(['runtime/cli.ts', 'runtime/index.ts', 'contexts/orders/index.ts', 'ops/check/index.ts']);
    expect(compiled.some((f) => f.endsWith('.spec.ts') || f.startsWith('test/') || f.startsWith('ops/bench/'))).to.equal(false);
    const shipped = new Set(compiled);
    const runtimeExports = Object.keys(runtimePackage.exports).map((k) => (k === '.' ? '@tributary/runtime' : `@tributary/runtime/${k.slice(2)}`));
    const missing: string[] = [];
    for (const file of compiled) {
      const source = fs.readFileSync(path.join(REPO, file), 'utf8');
      // Type-only imports are erased by the compiler: they need nothing at run time.
      const imports = [...source.matchAll(/^\s*(?:import|export)\s+(?!type\s)[^;]*?from\s+'([^']+)'|(?:require|import)\(\s*'([^']+)'\s*\)/gm)].map((m) => m[1] ?? m[2]);
      for (const spec of imports) {
        if (spec.startsWith('node:')) continue;
        if (spec.startsWith('.')) {
          const base = path.normalize(path.join(path.dirname(file), spec));
          if (![`${base}.ts`, path.join(base, 'index.ts'), base].some((c) => shipped.has(c))) missing.push(`${file} imports ${spec}`);
        } else if (spec.startsWith('@tributary/runtime')) {
          if (!runtimeExports.includes(spec)) missing.push(`${file} imports ${spec}, which the package does not export`);
        } else {
          const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
          if (!productionPackage(name)) missing.push(`${file} imports ${spec}, not a production dependency`);
        }
      }
    }
    expect(missing).to.deep.equal([]);
  });
});
