import { expect } from 'chai';
import { pagedCollection, pageRequest, resource, link } from './hal';
import { ValidationError } from '../errors';

const hrefs = (c: ReturnType<typeof pagedCollection>) => Object.fromEntries(Object.entries(c._links).map(([rel, l]) => [rel, l.href]));

describe('HAL helpers', () => {
  describe('pagedCollection', () => {
    it('embeds items as <rel>List and describes the page', () => {
      const c = pagedCollection('/v1/things', 'thing', [{ a: 1 }, { a: 2 }], { page: 0, size: 2 }, 5);
      expect(c._embedded).to.deep.equal({ thingList: [{ a: 1 }, { a: 2 }] });
      expect(c.page).to.deep.equal({ number: 0, size: 2, totalElements: 5, totalPages: 3 });
    });

    it('links first, last and next on the first page, and no prev', () => {
      const c = pagedCollection('/v1/things', 'thing', [], { page: 0, size: 2 }, 5);
      expect(hrefs(c)).to.deep.equal({
        self: '/v1/things?page=0&size=2',
        first: '/v1/things?page=0&size=2',
        last: '/v1/things?page=2&size=2',
        next: '/v1/things?page=1&size=2',
      });
    });

    it('links prev and next in the middle, prev and no next on the last page', () => {
      expect(hrefs(pagedCollection('/v1/things', 'thing', [], { page: 1, size: 2 }, 5))).to.include({
        prev: '/v1/things?page=0&size=2',
        next: '/v1/things?page=2&size=2',
      });
      const last = hrefs(pagedCollection('/v1/things', 'thing', [], { page: 2, size: 2 }, 5));
      expect(last).to.include({ prev: '/v1/things?page=1&size=2' });
      expect(last).to.not.have.property('next');
    });

    it('keeps the other query parameters in every link', () => {
      const c = pagedCollection('/v1/things', 'thing', [], { page: 1, size: 2 }, 5, { status: 'ACTIVE', skip: undefined });
      for (const href of Object.values(hrefs(c))) {
        expect(href).to.match(/^\/v1\/things\?status=ACTIVE&page=\d&size=2$/);
      }
    });

    it('points prev of a page beyond the end at the last page, and has no next', () => {
      const c = hrefs(pagedCollection('/v1/things', 'thing', [], { page: 9, size: 2 }, 5));
      expect(c.prev).to.equal('/v1/things?page=2&size=2');
      expect(c.self).to.equal('/v1/things?page=9&size=2');
      expect(c).to.not.have.property('next');
    });

    it('has one (empty) page when the collection is empty', () => {
      const c = pagedCollection('/v1/things', 'thing', [], { page: 0, size: 20 }, 0);
      expect(c.page.totalPages).to.equal(1);
      expect(hrefs(c)).to.deep.equal({ self: '/v1/things?page=0&size=20', first: '/v1/things?page=0&size=20', last: '/v1/things?page=0&size=20' });
    });
  });

  describe('pageRequest', () => {
    it('defaults to page 0 of size 20 and coerces query strings', () => {
      expect(pageRequest({})).to.deep.equal({ page: 0, size: 20 });
      expect(pageRequest({ page: '3', size: '50' })).to.deep.equal({ page: 3, size: 50 });
    });

    for (const [query, field] of [
      [{ page: '-1' }, 'page'],
      [{ size: '0' }, 'size'],
      [{ size: '1000' }, 'size'],
      [{ size: 'abc' }, 'size'],
      [{ page: '1.5' }, 'page'],
    ] as const) {
      it(`answers 400 for ${JSON.stringify(query)}`, () => {
        let caught: unknown;
        try {
          pageRequest(query);
        } catch (err) {
          caught = err;
        }
        expect(caught).to.be.instanceOf(ValidationError);
        const e = caught as ValidationError;
        expect(e.status).to.equal(400);
        expect(e.issues.map((i) => i.path)).to.deep.equal([field]);
      });
    }
  });

  it('resource adds _links, and _embedded only when given', () => {
    expect(resource({ a: 1 }, { self: link('/x') })).to.deep.equal({ a: 1, _links: { self: { href: '/x' } } });
    expect(resource({}, { self: link('/x', { templated: true }) }, { xs: [] })).to.deep.equal({
      _links: { self: { href: '/x', templated: true } },
      _embedded: { xs: [] },
    });
  });
});
