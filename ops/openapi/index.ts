/**
 * `npm run openapi`: writes the API document of a web role with every bundled context to
 * `docs/openapi.json`, and the TypeScript types generated from it to
 * `test/e2e/openapi-client/api.d.ts`, without Postgres or Redis. CI diffs both, and a client
 * can be generated from the document without a running server (docs/api.md).
 * `npm run openapi -- <file>` writes the document to `<file>` alone.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateApiDocument } from '../../runtime/http/openapi/generate';
import { serializeDocument } from '../../runtime/http/openapi/serialize';
import { TYPES_FILE, typesOf } from './types';

const ROOT = path.join(__dirname, '..', '..');

async function main(target?: string): Promise<void> {
  const { document, undeclared } = generateApiDocument();
  const file = path.resolve(target ?? path.join(ROOT, 'docs', 'openapi.json'));
  writeFileSync(file, serializeDocument(document));
  process.stdout.write(`wrote ${path.relative(process.cwd(), file)} (${Object.keys(document.paths as object).length} paths)\n`);
  if (!target) {
    writeFileSync(path.join(ROOT, TYPES_FILE), await typesOf(document));
    process.stdout.write(`wrote ${TYPES_FILE}\n`);
  }
  for (const r of undeclared) process.stderr.write(`warning: route without schemas, not in the document: ${r}\n`);
}

main(process.argv[2]).catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
