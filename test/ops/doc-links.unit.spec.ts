import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';

/**
 * Every relative link of the repository's documentation resolves: to a file or folder inside
 * the repository and, for `#anchor`, to a heading of the target (GitHub's heading ids).
 */
const ROOT = path.resolve(__dirname, '../..');

/** The documents checked: README.md, DEVELOPERS.md, docs/*.md and ops/**\/*.md. */
function documents(): string[] {
  const walk = (dir: string): string[] =>
    fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
      const rel = path.join(dir, e.name);
      return e.isDirectory() ? walk(rel) : e.name.endsWith('.md') ? [rel] : [];
    });
  const docs = fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => path.join('docs', f));
  return ['README.md', 'DEVELOPERS.md', ...docs, ...walk('ops')];
}

/** The text outside fenced code blocks and inline code: links there are examples, not links. */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
}

/** Inline links and images `[text](target)` and reference definitions `[id]: target`. */
export function linksOf(markdown: string): string[] {
  const text = prose(markdown);
  const inline = [...text.matchAll(/!?\[(?:[^\]\n]|\][^(\n])*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]);
  const references = [...text.matchAll(/^\s{0,3}\[[^\]\n]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)].map((m) => m[1]);
  return [...inline, ...references];
}

/** GitHub's id for a heading: lower case, punctuation dropped, spaces to hyphens. */
export function slugOf(heading: string): string {
  return heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors a Markdown file offers: its headings' ids (a repeated one gets -1, -2...) and explicit `<a id>`/`name`s. */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const withoutFences = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
  for (const [, heading] of withoutFences.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const slug = slugOf(heading);
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  for (const [, id] of markdown.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(id);
  return anchors;
}

/** What is wrong with one link of `doc` (a path relative to the repository), or undefined. */
function problemWith(doc: string, link: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(link)) return undefined; // http:, https:, mailto: ...
  const [target, anchor] = link.split('#', 2) as [string, string | undefined];
  const file = target === '' ? path.join(ROOT, doc) : path.resolve(path.dirname(path.join(ROOT, doc)), decodeURI(target.split('?')[0]));
  if (path.relative(ROOT, file).startsWith('..') || path.isAbsolute(target)) return `${link}: points outside the repository`;
  if (!fs.existsSync(file)) return `${link}: no such file`;
  if (anchor === undefined || !file.endsWith('.md')) return undefined;
  if (!anchorsOf(fs.readFileSync(file, 'utf8')).has(decodeURIComponent(anchor).toLowerCase())) return `${link}: no heading #${anchor} in ${path.relative(ROOT, file)}`;
  return undefined;
}

describe('documentation links', () => {
  describe('the checker', () => {
    it('finds inline links, images and reference definitions, not those in code', () => {
      const md = ['See [a](a.md) and ![b](img/b.png "t").', '[ref]: ../c.md#x', '`[no](in-code.md)`', '```', '[no](fenced.md)', '```'].join('\n');
      expect(linksOf(md)).to.deep.equal(['a.md', 'img/b.png', '../c.md#x']);
    });

    it("makes GitHub's heading ids, repeated ones numbered", () => {
      const anchors = anchorsOf('# Changing PARTITIONS: `tributary repartition`\n## Web/worker roles (2)\n## Notes\n## Notes\n');
      expect([...anchors]).to.deep.equal(['changing-partitions-tributary-repartition', 'webworker-roles-2', 'notes', 'notes-1']);
    });
  });

  for (const doc of documents()) {
    it(`${doc}: every relative link resolves`, () => {
      const broken = linksOf(fs.readFileSync(path.join(ROOT, doc), 'utf8'))
        .map((link) => problemWith(doc, link))
        .filter((p): p is string => p !== undefined);
      expect(broken, broken.join('\n')).to.deep.equal([]);
    });
  }
});
