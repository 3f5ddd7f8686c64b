import { useEffect, useState } from 'preact/hooks';
import { linkOf, UNAUTHORIZED_EVENT, type Resource } from './api';
import { ErrorBanner } from './components/banner';
import { SignIn, signOut } from './components/sign-in';
import { useResource } from './hooks';
import { DiscoveryContext, humanize, slugOf, type Discovery, type Machine } from './model';
import { hashOf, useRoute, type Route } from './router';
import { AggregateDetail } from './views/detail';
import { AggregateList } from './views/list';
import { Analytics } from './views/analytics';
import { Home } from './views/home';
import { Operations } from './views/ops';
import { ResourceView } from './views/resource';
import { Timeline } from './views/timeline';

function page(route: Route, discovery: Discovery) {
  const [first, second] = route.segments;
  if (!first) return <Home />;
  if (first === 'analytics') return <Analytics />;
  if (first === 'ops') return <Operations />;
  if (first === 'timeline' && second) return <Timeline correlationId={second} />;
  if (first === 'resource') return <ResourceView href={route.query.get('href') ?? '/v1'} />;
  const machine = discovery.machines.find((m) => slugOf(m) === first);
  if (!machine) return <div class="empty" data-testid="unknown-page">No page {location.hash}. Pick one on the left.</div>;
  if (second) return <AggregateDetail machine={machine} id={second} />;
  return <AggregateList machine={machine} query={route.query} />;
}

function Sidebar({ discovery, route }: { discovery: Discovery; route: Route }) {
  const at = route.segments[0] ?? '';
  const item = (slug: string, label: string, testid: string) => (
    <a href={hashOf(slug ? [slug] : [])} class={at === slug ? 'active' : ''} data-testid={testid}>{label}</a>
  );
  const docs = linkOf(discovery.root, 'describedby');
  return (
    <nav class="sidebar" data-testid="sidebar">
      <div class="brand"><span class="logo">≋</span> Tributary</div>
      {item('', 'Overview', 'nav-home')}
      <div class="nav-title">Aggregates</div>
      {discovery.machines.map((m) => item(slugOf(m), humanize(slugOf(m)), `nav-${slugOf(m)}`))}
      <div class="nav-title">System</div>
      {item('analytics', 'Analytics', 'nav-analytics')}
      {item('ops', 'Operations', 'nav-ops')}
      {docs && <a href={docs.href} target="_blank" rel="noopener">API document</a>}
      <button class="link" onClick={() => void signOut()} data-testid="sign-out">Sign out</button>
    </nav>
  );
}

/**
 * The console's shell: reads the entry point and the machines once (retrying until the API
 * answers), lists the aggregate types in the sidebar, and shows the page of the URL's hash.
 */
export function App() {
  const route = useRoute();
  // Any 401 from the API (no credential, or the key was revoked): ask for a key.
  const [signIn, setSignIn] = useState(false);
  useEffect(() => {
    const ask = () => setSignIn(true);
    window.addEventListener(UNAUTHORIZED_EVENT, ask);
    return () => window.removeEventListener(UNAUTHORIZED_EVENT, ask);
  }, []);
  const root = useResource<Resource>('/v1');
  const machinesHref = linkOf(root.data, 'machines')?.href;
  const machines = useResource<Resource>(machinesHref);
  const list = (machines.data?._embedded?.machineList as Machine[] | undefined) ?? [];
  const discovery: Discovery = { root: root.data ?? {}, machines: list };
  const ready = root.data && (!machinesHref || machines.data);
  return (
    <DiscoveryContext.Provider value={discovery}>
      <div class="shell">
        <Sidebar discovery={discovery} route={route} />
        <main class="content" data-testid="content">
          {signIn ? (
            <SignIn />
          ) : (
            <>
              <ErrorBanner error={root.error ?? machines.error} retryIn={root.error ? root.retryIn : machines.retryIn} onRetry={root.error ? root.reload : machines.reload} testid="api-banner" />
              {ready ? page(route, discovery) : !root.error && <div class="empty">Loading…</div>}
            </>
          )}
        </main>
      </div>
    </DiscoveryContext.Provider>
  );
}
