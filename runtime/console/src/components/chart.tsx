import uPlot from 'uplot';
import { useEffect, useRef } from 'preact/hooks';

const PALETTE = ['#2563eb', '#16a34a', '#dc2626', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#65a30d', '#475569', '#ea580c'];

export interface ChartSeries {
  label: string;
  values: number[];
}

/**
 * A uPlot line chart of counts per time bucket. Redrawn when its data change; sized to its
 * container's width.
 */
export function Chart({ title, times, series, testid }: { title: string; times: number[]; series: ChartSeries[]; testid: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el || !times.length) return;
    const plot = new uPlot(
      {
        title,
        width: Math.max(320, el.clientWidth - 8),
        height: 220,
        scales: { x: { time: true } },
        axes: [{ stroke: '#64748b', grid: { stroke: '#e2e8f0' } }, { stroke: '#64748b', grid: { stroke: '#e2e8f0' } }],
        series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: PALETTE[i % PALETTE.length], width: 2, points: { show: false } }))],
      },
      [times, ...series.map((s) => s.values)] as uPlot.AlignedData,
      el,
    );
    return () => plot.destroy();
  }, [title, times, series]);
  return <div class="chart" ref={box} data-testid={testid} />;
}
