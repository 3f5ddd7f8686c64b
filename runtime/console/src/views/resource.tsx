import { ErrorBanner } from '../components/banner';
import { Fields } from '../components/fields';
import { embeddedList, linkOf } from '../api';
import { useResource } from '../hooks';
import { consoleHref, humanize, relatedLinks, useDiscovery } from '../model';

/** Any other resource of the API (a collection of an item, a report): fields, items, links. */
export function ResourceView({ href }: { href: string }) {
  const discovery = useDiscovery();
  const r = useResource(href);
  const items = embeddedList(r.data);
  return (
    <div class="page" data-testid="page-resource">
      <h1 class="mono">{href}</h1>
      <ErrorBanner error={r.error} retryIn={r.retryIn} onRetry={r.reload} />
      {r.data && (
        <>
          <section class="card"><Fields data={r.data} /></section>
          {items.length > 0 && (
            <section class="card">
              <header><h2>Items</h2></header>
              <ul class="links">
                {items.map((item, i) => {
                  const self = linkOf(item, 'self')?.href;
                  return <li key={i}>{self ? <a href={consoleHref(self, discovery)}>{self}</a> : null}<Fields data={item} nested /></li>;
                })}
              </ul>
            </section>
          )}
          <section class="card">
            <header><h2>Links</h2></header>
            <div class="related">{relatedLinks(r.data).map(([rel, l]) => <a key={rel} class="pill" href={consoleHref(l.href, discovery)}>{humanize(rel)} →</a>)}</div>
          </section>
        </>
      )}
    </div>
  );
}
