/**
 * `npm run bench [-- <suite>...]`: runs the benchmark suites against Postgres and Redis on
 * loopback (BENCH_DATABASE_URL / BENCH_REDIS_URL), each in a fresh database and Redis prefix
 * that are removed at the end, and prints one table per suite. Not part of `npm test`.
 */
import os from 'node:os';
import { cleanup, describeEnvironment, freshEnv } from './env';
import { renderTable } from './report';
import { meetsGoal, type Figure, type SuiteContext } from './suite';
import { suites } from './suites';

/** The whole run stops by itself after this long, whatever a suite is doing. */
const MAX_RUN_MS = Number(process.env.BENCH_MAX_RUN_MS ?? 10 * 60_000);

function usage(): string {
  return [
    'usage: npm run bench [-- <suite>...]',
    '',
    'suites:',
    ...suites.map((s) => `  ${s.name.padEnd(10)} ${s.description}`),
    '',
    'knobs (environment): BENCH_DATABASE_URL, BENCH_REDIS_URL, BENCH_ACCOUNTS, BENCH_CONCURRENCY,',
    'BENCH_ROUNDS, BENCH_MEASURE_MS, BENCH_MESSAGES, BENCH_VARIANTS=0|1, BENCH_ORDERS, BENCH_SAGA_WARMUP, BENCH_SAGA_RATE,',
    'BENCH_SAGA_SECONDS, BENCH_SCALE_WARMUP_MS, BENCH_SCALE_OPEN, BENCH_SCALE_UNITS, BENCH_SCALE_RATE,',
    'BENCH_FAIRNESS_RATE, BENCH_FAIRNESS_SECONDS, BENCH_FAIRNESS_FLOOD, BENCH_FAIRNESS_CAP, BENCH_FAIRNESS_UNCAPPED,',
    'BENCH_MAX_RUN_MS; see ops/bench/README.md',
  ].join('\n');
}

const context: SuiteContext = {
  freshEnv,
  progress: (line) => process.stderr.write(`${line}\n`),
  knob(name, fallback) {
    const raw = process.env[`BENCH_${name}`];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) throw new Error(`BENCH_${name} must be a non-negative integer, not ${JSON.stringify(raw)}`);
    return n;
  },
};

async function main(args: string[]): Promise<number> {
  if (args.includes('-h') || args.includes('--help')) {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  const unknown = args.filter((a) => !suites.some((s) => s.name === a));
  if (unknown.length) {
    process.stderr.write(`unknown suite ${unknown.join(', ')}\n\n${usage()}\n`);
    return 2;
  }
  const selected = args.length ? suites.filter((s) => args.includes(s.name)) : suites;

  process.stdout.write(`${(await describeEnvironment()).join('\n')}\n`);
  if (os.loadavg()[0] > os.cpus().length) {
    process.stdout.write(`WARNING: load average ${os.loadavg()[0].toFixed(1)} > ${os.cpus().length} cores: other work shares this machine; figures are not representative\n`);
  }
  process.stdout.write('\n');
  let failed = false;
  const all: Figure[] = [];
  for (const suite of selected) {
    const started = Date.now();
    const loadBefore = os.loadavg()[0];
    context.progress(`-- ${suite.name}: ${suite.description}`);
    try {
      const figures = await suite.run(context);
      all.push(...figures);
      const title = `${suite.name} (${((Date.now() - started) / 1000).toFixed(1)} s; load average ${loadBefore.toFixed(1)} → ${os.loadavg()[0].toFixed(1)})`;
      process.stdout.write(`${renderTable(title, figures)}\n\n`);
    } catch (err) {
      failed = true;
      process.stderr.write(`suite ${suite.name} failed: ${(err as Error).stack ?? err}\n`);
    }
  }
  const goals = all.filter((f) => meetsGoal(f) !== undefined);
  if (goals.length) {
    process.stdout.write(`goals: ${goals.filter((f) => meetsGoal(f)).length} of ${goals.length} met\n`);
  }
  return failed ? 1 : 0;
}

let exiting = false;
async function exit(code: number): Promise<never> {
  if (!exiting) {
    exiting = true;
    // Dropping a database cuts the connections still open on it (an interrupted suite's):
    // their errors are expected now and must not stop the cleanup halfway.
    process.on('uncaughtException', () => undefined);
    process.on('unhandledRejection', () => undefined);
    await cleanup();
  }
  process.exit(code);
}

const watchdog = setTimeout(() => {
  process.stderr.write(`bench: still running after ${MAX_RUN_MS} ms; giving up\n`);
  void exit(3);
}, MAX_RUN_MS);
watchdog.unref();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void exit(130));

main(process.argv.slice(2)).then(exit, (err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
  return exit(1);
});
