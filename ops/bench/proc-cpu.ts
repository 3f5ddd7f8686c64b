import fs from 'node:fs';
import os from 'node:os';

/*
 * CPU time of other processes and of the whole machine, read from Linux's /proc. The scale
 * suite runs its work in child processes, which process.cpuUsage() does not see; these
 * readings say how the cores were shared during a measured window (workers, web, the bench
 * itself, and the rest: Postgres, Redis, neighbours). On a system without /proc every
 * reading is undefined and the suite prints no CPU note.
 */

/** Clock ticks per second of /proc's utime/stime (USER_HZ: 100 on every Linux in use). */
const TICKS_PER_SECOND = 100;

/** User + system CPU time of a process so far, in ms; undefined if it is gone or there is no /proc. */
export function processCpuMs(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return ((utime + stime) * 1000) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** Busy and total CPU time of the whole machine so far (all cores), in ms. */
export function machineCpuMs(): { busy: number; total: number } | undefined {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const [, ...values] = line.trim().split(/\s+/);
    const n = values.map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    const idle = n[3] + (n[4] ?? 0);
    const total = n.slice(0, 8).reduce((a, b) => a + (b || 0), 0);
    return { busy: ((total - idle) * 1000) / TICKS_PER_SECOND, total: (total * 1000) / TICKS_PER_SECOND };
  } catch {
    return undefined;
  }
}

/** A CPU reading of named groups of pids plus the machine, to diff with a later one. */
export interface CpuSample {
  at: number;
  groups: Record<string, number | undefined>;
  machine?: { busy: number; total: number };
  bench: NodeJS.CpuUsage;
}

export function sampleCpu(groups: Record<string, number[]>): CpuSample {
  const out: Record<string, number | undefined> = {};
  for (const [name, pids] of Object.entries(groups)) {
    const each = pids.map(processCpuMs);
    out[name] = each.some((v) => v === undefined) ? undefined : each.reduce<number>((a, b) => a + b!, 0);
  }
  return { at: performance.now(), groups: out, machine: machineCpuMs(), bench: process.cpuUsage() };
}

/** Cores a named group used between two samples (CPU ms per wall ms); undefined without /proc. */
export function coresUsed(before: CpuSample, after: CpuSample, group: string): number | undefined {
  const a = before.groups[group];
  const b = after.groups[group];
  const wallMs = after.at - before.at;
  return a === undefined || b === undefined || wallMs <= 0 ? undefined : (b - a) / wallMs;
}

/**
 * How many cores each group used between two samples, the bench process itself, the whole
 * machine, and the rest (machine minus the named groups and the bench: Postgres, Redis and
 * whatever else runs here), as one line for a note; undefined without /proc.
 */
export function describeCpu(before: CpuSample, after: CpuSample): string | undefined {
  const wallMs = after.at - before.at;
  if (!before.machine || !after.machine || wallMs <= 0) return undefined;
  const cores = (ms: number) => ms / wallMs;
  const parts: string[] = [];
  let named = 0;
  for (const name of Object.keys(after.groups)) {
    const a = before.groups[name];
    const b = after.groups[name];
    if (a === undefined || b === undefined) return undefined;
    named += b - a;
    parts.push(`${name} ${cores(b - a).toFixed(2)}`);
  }
  // process.cpuUsage() without an argument is the total since this process started.
  const benchWindowMs = (after.bench.user + after.bench.system - before.bench.user - before.bench.system) / 1000;
  named += benchWindowMs;
  parts.push(`bench client ${cores(benchWindowMs).toFixed(2)}`);
  const busy = after.machine.busy - before.machine.busy;
  const share = busy / (after.machine.total - before.machine.total);
  parts.push(`the rest (Postgres, Redis, other work) ${cores(Math.max(0, busy - named)).toFixed(2)}`);
  return `CPU in the window, in cores: machine busy ${cores(busy).toFixed(2)} of ${os.cpus().length} (${(share * 100).toFixed(0)} %): ${parts.join(', ')}`;
}
