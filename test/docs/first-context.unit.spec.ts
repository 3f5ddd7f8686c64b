import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';

/**
 * docs/first-context.md shows the shipping example's real code (and the orders contract it
 * reads): every fenced block whose info string names a file (```ts examples/shipping/reactions.ts)
 * appears, line for line, in that file.
 */
const REPO = path.join(__dirname, '..', '..');
const doc = fs.readFileSync(path.join(REPO, 'docs', 'first-context.md'), 'utf8');
const excerpts = [...doc.matchAll(/^```\w+ (\S+)\n([\s\S]*?)^```$/gm)].map((m) => ({ file: m[1], code: m[2] }));

describe('docs/first-context.md', () => {
  it('shows excerpts of the example files', () => {
    expect(excerpts.length).to.be.greaterThanOrEqual(6);
    expect(excerpts.filter((e) => e.file.startsWith('examples/shipping/')).length).to.be.greaterThanOrEqual(6);
  });

  for (const { file, code } of excerpts) {
    it(`quotes ${file} as it is`, () => {
      const full = path.join(REPO, file);
      expect(fs.existsSync(full), `${file} exists`).to.equal(true);
      expect(fs.readFileSync(full, 'utf8')).to.include(code);
    });
  }
});
