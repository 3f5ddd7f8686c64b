/**
 * `npm run build:console`: bundles the browser console (runtime/console/src) with esbuild
 * into dist/console/: `index.html`, `assets/app-<hash>.js` and `styles/app-<hash>.css` (names
 * carry a content hash, so they can be cached for good). Everything
 * the page loads comes from here (no CDN). `npm start` runs it first (`prestart`); tests
 * that drive a browser call {@link buildConsole} in their `before` hook.
 */
import { build } from 'esbuild';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CONSOLE_DIST } from '../package-layout';

export const CONSOLE_SOURCE = path.resolve(__dirname, 'src');
/** Where the build goes (a module of its own, so the web role that serves it never loads esbuild). */
export { CONSOLE_DIST };

/** What a build wrote, relative to {@link CONSOLE_DIST}. */
export interface ConsoleBuild {
  files: string[];
  ms: number;
}

/** The page shell: the hashed bundle names are the only thing that changes between builds. */
function indexHtml(js: string, css: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tributary console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/console/${css}">
</head>
<body>
<div id="app"><noscript>The Tributary console needs JavaScript.</noscript></div>
<script type="module" src="/console/${js}"></script>
</body>
</html>
`;
}

/** Bundles and minifies the console; replaces what a previous build left in dist/console. */
export async function buildConsole(outdir: string = CONSOLE_DIST): Promise<ConsoleBuild> {
  const started = Date.now();
  await rm(outdir, { recursive: true, force: true });
  await mkdir(path.join(outdir, 'assets'), { recursive: true });
  const result = await build({
    entryPoints: { app: path.join(CONSOLE_SOURCE, 'main.tsx') },
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2022'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir: path.join(outdir, 'assets'),
    entryNames: '[name]-[hash]',
    metafile: true,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const outputs = Object.keys(result.metafile.outputs).map((f) => path.relative(outdir, path.resolve(f)));
  const js = outputs.find((f) => f.endsWith('.js'));
  const built = outputs.find((f) => f.endsWith('.css'));
  if (!js || !built) throw new Error(`the console build produced no script or stylesheet: ${outputs.join(', ')}`);
  // The stylesheet gets its own path, so each served path has one content type.
  const css = path.join('styles', path.basename(built));
  await mkdir(path.join(outdir, 'styles'), { recursive: true });
  await rename(path.join(outdir, built), path.join(outdir, css));
  await writeFile(path.join(outdir, 'index.html'), indexHtml(js, css));
  return { files: ['index.html', js, css], ms: Date.now() - started };
}

if (require.main === module) {
  buildConsole().then(
    (b) => process.stdout.write(`console built in ${b.ms} ms: ${b.files.map((f) => `dist/console/${f}`).join(', ')}\n`),
    (err) => {
      process.stderr.write(`console build failed: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
