/**
 * `npm run check [-- --settle-ms N]`: checks the invariants against the database in
 * DATABASE_URL and exits 1 if any is violated. Safe to run against a live system: it only
 * reads. Orders younger than the settle time may still be in flight and are not counted.
 */
import { createDb, loadConfig, loadContexts } from '@tributary/runtime/operations';
import { runChecks } from './run-checks';

async function main(): Promise<void> {
  const i = process.argv.indexOf('--settle-ms');
  const settleMs = i > 0 ? Number(process.argv[i + 1]) : 60_000;
  if (!Number.isFinite(settleMs) || settleMs < 0) throw new Error('--settle-ms takes a number of milliseconds');
  const config = loadConfig();
  const plugins = loadContexts(config.contexts, config.contextsDirs);
  const db = createDb(config.databaseUrl, 2);
  try {
    const report = await runChecks(db, plugins, settleMs);
    for (const c of report.checks) {
      process.stdout.write(`${c.violations.length === 0 ? 'ok  ' : 'FAIL'} ${c.name}${c.violations.length ? ` (${c.violations.length})` : ''}\n`);
      for (const v of c.violations.slice(0, 20)) process.stdout.write(`       ${v}\n`);
      if (c.violations.length > 20) process.stdout.write(`       ... and ${c.violations.length - 20} more\n`);
    }
    process.exitCode = report.ok ? 0 : 1;
  } finally {
    await db.destroy();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`check: ${err.message}\n`);
  process.exit(2);
});
