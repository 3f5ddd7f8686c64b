/**
 * `npm run openapi [-- <file>]`: writes the API document of a web role with every bundled
 * context to `docs/openapi.json` (or `<file>`), without Postgres or Redis. CI diffs it, and a
 * client can be generated from it without a running server (docs/api.md).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateApiDocument } from '../../runtime/http/openapi/generate';
import { serializeDocument } from '../../runtime/http/openapi/serialize';

const target = path.resolve(process.argv[2] ?? path.join(__dirname, '..', '..', 'docs', 'openapi.json'));
const { document, undeclared } = generateApiDocument();
writeFileSync(target, serializeDocument(document));
process.stdout.write(`wrote ${path.relative(process.cwd(), target)} (${Object.keys(document.paths as object).length} paths)\n`);
for (const r of undeclared) process.stderr.write(`warning: route without schemas, not in the document: ${r}\n`);
