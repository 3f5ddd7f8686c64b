import { meetsGoal, type Figure } from './suite';

/** A number with a sensible number of digits for a table. */
export function formatNumber(n: number | undefined): string {
  if (n === undefined) return '';
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  if (abs >= 100) return Math.round(n).toLocaleString('en-US');
  if (abs >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

function goalText(f: Figure): string {
  if (!f.goal) return '';
  const verdict = meetsGoal(f) ? 'met' : 'MISSED';
  return `${f.goal.op === '<=' ? '≤' : '≥'} ${f.goal.value} ${verdict}`;
}

/**
 * The figures as a fixed-width table: name, figure, unit, baseline, ratio (and what it is),
 * goal. Notes follow the table, numbered.
 */
export function renderTable(title: string, figures: Figure[]): string {
  const header = ['name', 'figure', 'unit', 'baseline', 'ratio', 'goal'];
  const notes: string[] = [];
  const rows = figures.map((f) => {
    let name = f.name;
    if (f.note) {
      notes.push(f.note);
      name += ` [${notes.length}]`;
    }
    return [
      name,
      formatNumber(f.value),
      f.unit,
      formatNumber(f.baseline),
      f.ratio ? `${f.ratio.value.toFixed(2)} (${f.ratio.label})` : '',
      goalText(f),
    ];
  });
  const numeric = new Set([1, 3]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  const out = [`== ${title}`, line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
  notes.forEach((n, i) => out.push(`  [${i + 1}] ${n}`));
  return out.join('\n');
}
