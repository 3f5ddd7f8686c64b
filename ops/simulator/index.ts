/**
 * `npm run simulate`: the load simulator's entry point. Parses the settings, runs one
 * simulation against `--url`, shows progress, handles Ctrl-C (first: stop sending and wait
 * for the orders in flight; second: abandon them), prints the summary, and exits 0 only when
 * every expectation held (1 otherwise, 2 on a usage error).
 */
import { writeFileSync } from 'node:fs';
import { helpText, parseConfig, UsageError, type SimulatorConfig } from './config';
import { Progress } from './progress';
import { SetupError, Simulation } from './simulation';
import { formatSummary } from './summary';

function progressMode(c: SimulatorConfig): 'tty' | 'plain' | 'off' {
  if (c.progress !== 'auto') return c.progress;
  return process.stderr.isTTY ? 'tty' : 'plain';
}

async function main(argv: string[]): Promise<number> {
  let config: SimulatorConfig;
  try {
    config = parseConfig(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`simulate: ${err.message}\n`);
    return 2;
  }
  if (config.help) {
    process.stdout.write(`${helpText()}\n`);
    return 0;
  }
  const sim = new Simulation(config);
  try {
    await sim.setup();
  } catch (err) {
    if (!(err instanceof SetupError)) throw err;
    process.stderr.write(`simulate: ${err.message}\n`);
    return 1;
  }
  const progress = new Progress(progressMode(config), config.progressEverySeconds * 1000);
  process.stderr.write(`simulating against ${config.url} (run ${sim.runId}, speed ×${config.speed}${config.chaos ? ', chaos' : ''}${config.durationSeconds ? `, ${config.durationSeconds} s` : ', until Ctrl-C'})\n`);
  let interrupts = 0;
  const onSignal = () => {
    interrupts += 1;
    progress.done();
    if (interrupts === 1) {
      process.stderr.write('stopping: no new requests; waiting for the orders in flight (Ctrl-C again to abandon them)\n');
      sim.stop();
    } else {
      process.stderr.write('abandoning the orders in flight\n');
      sim.abandon();
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const summary = await sim.run((f) => progress.update(f));
  progress.done();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.stdout.write(`${formatSummary(summary)}\n`);
  if (config.jsonSummary) writeFileSync(config.jsonSummary, `${JSON.stringify({ ...summary, runId: sim.runId, config }, null, 2)}\n`);
  const code = summary.ok ? 0 : 1;
  // Abandoned requests may still be waiting for answers; a second Ctrl-C means now.
  if (interrupts >= 2) process.exit(code);
  return code;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`simulate: ${(err as Error).stack ?? err}\n`);
    process.exitCode = 1;
  },
);
