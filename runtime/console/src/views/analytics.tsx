import { useMemo } from 'preact/hooks';
import { linkOf, type Resource } from '../api';
import { ErrorBanner } from '../components/banner';
import { Chart, type ChartSeries } from '../components/chart';
import { StatusChip } from '../components/status';
import { useResource } from '../hooks';
import { useDiscovery } from '../model';
import { hashOf, navigate, useRoute } from '../router';
import { expand } from '../uri-template';

interface Series {
  topic: string;
  aggregateType: string;
  eventType: string;
  total: number;
  buckets: number[];
}

interface Outcome {
  aggregateType: string;
  status: string;
  total: number;
  buckets: number[];
  perMinute: number;
}

interface AnalyticsBody extends Resource {
  window: string;
  from: string;
  to: string;
  bucketSeconds: number;
  series: Series[];
  outcomes: Outcome[];
}

const WINDOWS = ['5m', '1h', '24h'];
const TOP = 8;

/** Sums bucket arrays by a key (a topic's series are the sum of its event types'). */
function sumBy<T extends { buckets: number[]; total: number }>(rows: T[], key: (r: T) => string): { label: string; values: number[]; total: number }[] {
  const out = new Map<string, { label: string; values: number[]; total: number }>();
  for (const r of rows) {
    const k = key(r);
    const acc = out.get(k) ?? { label: k, values: r.buckets.map(() => 0), total: 0 };
    r.buckets.forEach((v, i) => (acc.values[i] = (acc.values[i] ?? 0) + v));
    acc.total += r.total;
    out.set(k, acc);
  }
  return [...out.values()].sort((a, b) => b.total - a.total);
}

/** Events per topic and per event type over 5 minutes, an hour or a day, and outcome rates. */
export function Analytics() {
  const { root } = useDiscovery();
  const route = useRoute();
  const window = route.query.get('window') ?? '1h';
  const template = linkOf(root, 'analytics')?.href;
  const data = useResource<AnalyticsBody>(template ? expand(template, { window }) : undefined, 10_000);
  const a = data.data;
  const times = useMemo(() => (a ? (a.series[0]?.buckets ?? a.outcomes[0]?.buckets ?? []).map((_b, i) => Date.parse(a.from) / 1000 + i * a.bucketSeconds) : []), [a]);
  const byTopic = useMemo(() => (a ? sumBy(a.series, (s) => s.topic) : []), [a]);
  const byType = useMemo(() => (a ? sumBy(a.series, (s) => s.eventType) : []), [a]);
  const byOutcome = useMemo(() => (a ? sumBy(a.outcomes, (o) => `${o.aggregateType} ${o.status}`) : []), [a]);
  const chart = (rows: { label: string; values: number[] }[]): ChartSeries[] => rows.slice(0, TOP).map((r) => ({ label: r.label, values: r.values }));
  return (
    <div class="page" data-testid="page-analytics">
      <div class="title-row">
        <h1>Analytics</h1>
        <div class="filters" data-testid="window">
          {WINDOWS.map((w) => <button key={w} class={`pill ${w === window ? 'on' : ''}`} data-testid={`window-${w}`} onClick={() => navigate(hashOf(['analytics'], { window: w }))}>{w}</button>)}
        </div>
      </div>
      <ErrorBanner error={data.error} retryIn={data.retryIn} onRetry={data.reload} />
      {a && (
        <>
          <div class="muted">{new Date(a.from).toLocaleString()} – {new Date(a.to).toLocaleString()} · buckets of {a.bucketSeconds} s</div>
          <div class="columns even">
            <section class="card"><Chart title="Events per topic" times={times} series={chart(byTopic)} testid="chart-topics" /></section>
            <section class="card"><Chart title={`Events per type (top ${TOP})`} times={times} series={chart(byType)} testid="chart-types" /></section>
          </div>
          <div class="columns even">
            <section class="card" data-testid="topics">
              <header><h2>Per topic</h2></header>
              <table class="table compact">
                <thead><tr><th>Topic</th><th class="num">Events</th></tr></thead>
                <tbody>{byTopic.map((r) => <tr key={r.label} data-testid={`topic-${r.label}`} data-total={r.total}><td>{r.label}</td><td class="num">{r.total}</td></tr>)}</tbody>
              </table>
              <header><h2>Per event type</h2></header>
              <table class="table compact">
                <thead><tr><th>Type</th><th>Aggregate</th><th class="num">Events</th></tr></thead>
                <tbody>
                  {[...a.series].sort((x, y) => y.total - x.total).map((s) => (
                    <tr key={s.aggregateType + s.eventType} data-testid={`type-${s.eventType}`} data-type={s.eventType} data-aggregate={s.aggregateType} data-total={s.total}><td>{s.eventType}</td><td>{s.aggregateType}</td><td class="num">{s.total}</td></tr>
                  ))}
                </tbody>
              </table>
            </section>
            <section class="card" data-testid="outcomes">
              <header><h2>Outcomes</h2></header>
              <Chart title="Outcomes" times={times} series={chart(byOutcome)} testid="chart-outcomes" />
              <table class="table compact">
                <thead><tr><th>Aggregate</th><th>Status</th><th class="num">Total</th><th class="num">Per minute</th></tr></thead>
                <tbody>
                  {a.outcomes.map((o) => (
                    <tr key={o.aggregateType + o.status} data-testid={`outcome-${o.status}`} data-total={o.total}>
                      <td>{o.aggregateType}</td><td><StatusChip status={o.status} /></td><td class="num">{o.total}</td><td class="num">{o.perMinute.toFixed(2)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </section>
          </div>
        </>
      )}
    </div>
  );
}
