/**
 * `tributary new context <name> [--dir <path>] [--aggregate <type>]`: writes a context that
 * compiles and passes its own tests as generated: a contract with typed events, a machine, an
 * aggregate, a read model and its migration, routes declared with `route()` and schemas, a
 * reaction, a given/when/then unit test and an integration test. The templates are
 * `scaffold/context/**.tmpl` in this package; their file names and contents hold placeholders
 * (`__context__`, `__Agg__`, ...) replaced by the names derived here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../package-layout';

export const TEMPLATES_DIR = path.join(PACKAGE_ROOT, 'scaffold', 'context');

const NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

export interface NewContextOptions {
  /** The context's name: lower-case words joined by dashes (`parcels`, `gift-cards`). */
  name: string;
  /** The folder its folder goes in (a `CONTEXTS_DIR`). */
  dir: string;
  /** Its aggregate's type; defaults to the name without a final `s`. */
  aggregate?: string;
  /** The migration's timestamp prefix; defaults to now (UTC, `YYYYMMDDHHMMSS`). */
  now?: Date;
}

const words = (kebab: string) => kebab.split('-');
const camel = (kebab: string) => words(kebab).map((w, i) => (i === 0 ? w : w[0].toUpperCase() + w.slice(1))).join('');
const pascal = (kebab: string) => words(kebab).map((w) => w[0].toUpperCase() + w.slice(1)).join('');

/** The placeholders and their values, longest first so that none is a prefix of a later one's match. */
export function placeholders({ name, aggregate, now = new Date() }: Omit<NewContextOptions, 'dir'>): [string, string][] {
  const agg = aggregate ?? (name.length > 1 && name.endsWith('s') ? name.slice(0, -1) : name);
  for (const [what, value] of [['context name', name], ['aggregate type', agg]]) {
    if (!NAME.test(value)) throw new Error(`The ${what} "${value}" must be lower-case letters and digits, words joined by single dashes, starting with a letter`);
  }
  return [
    ['__migration__', now.toISOString().replace(/\D/g, '').slice(0, 14)],
    ['__aggsnake__', words(agg).join('_')],
    ['__aggtype__', agg],
    ['__context__', name],
    ['__table__', words(name).join('_')],
    ['__ctx__', camel(name)],
    ['__AGG__', words(agg).join('_').toUpperCase()],
    ['__Agg__', pascal(agg)],
    ['__agg__', camel(agg)],
  ];
}

const fill = (text: string, values: [string, string][]) => values.reduce((t, [key, value]) => t.split(key).join(value), text);

function templates(dir: string, rel = ''): string[] {
  return fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? templates(dir, path.join(rel, e.name)) : e.name.endsWith('.tmpl') ? [path.join(rel, e.name)] : []));
}

/** Writes the context into `<dir>/<name>/` and returns the files written (relative to it). Refuses a folder that exists. */
export function newContext(options: NewContextOptions): { dir: string; files: string[] } {
  const values = placeholders(options);
  // The image ships the runtime's build without its templates: a context is written in a checkout.
  if (!fs.existsSync(TEMPLATES_DIR)) throw new Error(`This build of the runtime has no scaffold templates (${TEMPLATES_DIR}): run \`tributary new\` from a checkout or an installed @tributary/runtime`);
  const target = path.resolve(options.dir, options.name);
  if (fs.existsSync(target)) throw new Error(`${target} exists already; choose another name or --dir`);
  const files: string[] = [];
  for (const template of templates(TEMPLATES_DIR).sort()) {
    const rel = fill(template.slice(0, -'.tmpl'.length), values);
    fs.mkdirSync(path.dirname(path.join(target, rel)), { recursive: true });
    fs.writeFileSync(path.join(target, rel), fill(fs.readFileSync(path.join(TEMPLATES_DIR, template), 'utf8'), values));
    files.push(rel);
  }
  return { dir: target, files };
}
