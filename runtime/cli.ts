#!/usr/bin/env node
/**
 * `tributary <command>`: start | migrate | contexts | partitions | repartition --to N | dlq list | dlq redrive <id> | simulate.
 *
 * Telemetry starts before any instrumented module (pg, ioredis, koa) is required, so the
 * rest of the runtime is loaded lazily below.
 */
import { loadConfig, ConfigError, type Config } from './config';
import { startTelemetry } from './telemetry/sdk';

function fail(message: string): never {
  process.stderr.write(`tributary: ${message}\n`);
  process.exit(1);
}

function configOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
}

const USAGE = `usage: tributary <command>
  start                 run the roles in ROLE (web | worker | all) for the contexts in CONTEXTS
  migrate               create the database if needed and run all migrations
  contexts              list the contexts this build contains
  partitions [--json]   who owns each partition of each consumer group, and its lag
  repartition --to N    move a stopped deployment's streams to N partitions and record N
  dlq list [limit]      list dead letters
  dlq redrive <id>      put a dead letter back on its stream
  new context <name> [--dir <path>] [--aggregate <type>]
                        generate a context (default --dir: ./contexts) that passes its own tests
  simulate [options]    the load simulator over HTTP (same as npm run simulate; --help lists options)
  keys create --name N --scopes read,write[,ops] [--account <uuid>]
                        create an API key (printed once, never stored in clear)
  keys list [--json]    list API keys (never their secrets)
  keys revoke <keyId>   revoke an API key (every process refuses it within AUTH_KEY_CACHE_MS)`;

/**
 * `simulate` runs the load simulator (ops/simulator) as a child process: the runtime never
 * imports ops/, and the simulator needs no database settings, so it is handled before the
 * configuration is loaded. Ctrl-C reaches the child through the terminal's process group; the
 * parent only waits for it and exits with its code.
 */
async function simulate(args: string[]): Promise<never> {
  const { spawn } = await import('node:child_process');
  const { existsSync } = await import('node:fs');
  const path = await import('node:path');
  const entry = path.resolve(__dirname, '..', 'ops', 'simulator', 'index.ts');
  if (!existsSync(entry)) fail('the load simulator is not part of this build; run `npm run simulate -- --help` from a source checkout');
  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], { stdio: 'inherit' });
  process.on('SIGINT', () => undefined); // the child decides: first stops sending, second abandons
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  const code = await new Promise<number>((resolve) => child.once('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));
  process.exit(code);
}

/** `new context <name>`: writes the files of a new context; needs no database, so it runs before the configuration is loaded. */
async function scaffold(args: string[]): Promise<never> {
  const [what, name, ...rest] = args;
  if (what !== 'context' || !name || name.startsWith('-')) fail('usage: tributary new context <name> [--dir <path>] [--aggregate <type>]');
  const option = (flag: string) => {
    const i = rest.indexOf(flag);
    return i >= 0 ? rest[i + 1] : undefined;
  };
  const { newContext } = await import('./scaffold/new-context');
  const path = await import('node:path');
  try {
    const { dir, files } = newContext({ name, dir: option('--dir') ?? 'contexts', aggregate: option('--aggregate') });
    process.stdout.write(`created ${dir}:\n${files.map((f) => `  ${f}`).join('\n')}\nload it with CONTEXTS_DIR=${path.dirname(dir)} (docs/first-context.md)\n`);
    process.exit(0);
  } catch (err) {
    fail((err as Error).message);
  }
}

/**
 * A second SIGINT/SIGTERM this soon after the first is the same request to stop (a terminal's
 * Ctrl-C reaches both npm and the process, and npm forwards its own); a later one exits at once.
 */
const STOP_SIGNAL_WINDOW_MS = 1_000;

async function main(argv: string[]): Promise<void> {
  const [command, sub, arg] = argv;
  if (command === 'simulate') await simulate(argv.slice(1));
  if (command === 'new') await scaffold(argv.slice(1));
  const config = configOrExit();
  if (command === 'start') {
    const telemetry = startTelemetry({ serviceName: config.telemetry.serviceName, otlpEndpoint: config.telemetry.otlpEndpoint, logLevel: config.logLevel });
    const { startRuntime } = await import('./roles');
    // Handlers go in before start-up, so a signal that arrives while starting still stops gracefully.
    let received: string | undefined;
    const starting = new AbortController();
    let runtime: Awaited<ReturnType<typeof startRuntime>> | undefined;
    const stop = (signal: string) => {
      const rt = runtime!;
      rt.services.log.info({ signal, deadlineMs: config.shutdownTimeoutMs }, 'stopping');
      const force = setTimeout(() => {
        rt.services.log.error('shutdown deadline passed; exiting');
        process.exit(1);
      }, config.shutdownTimeoutMs + 2_000);
      force.unref();
      void rt
        .stop()
        .then(() => telemetry?.shutdown())
        .then(() => process.exit(0));
    };
    let receivedAt = 0;
    const onSignal = (signal: string) => {
      if (received) {
        // Ctrl-C on `npm start` delivers SIGINT twice (the terminal's, then npm's forward):
        // within the window it is the same request to stop, not "exit now".
        if (Date.now() - receivedAt < STOP_SIGNAL_WINDOW_MS) {
          runtime?.services.log.debug({ signal }, 'repeated stop signal within the window: same request, still draining');
          return;
        }
        process.stderr.write(`tributary: second ${signal}: exiting now\n`);
        process.exit(1);
      }
      received = signal;
      receivedAt = Date.now();
      if (runtime) stop(signal);
      else starting.abort();
    };
    process.on('SIGTERM', () => onSignal('SIGTERM'));
    process.on('SIGINT', () => onSignal('SIGINT'));
    runtime = await startRuntime(config, { signal: starting.signal });
    if (received) stop(received);
    return;
  }
  if (command === 'migrate') {
    const { migrate } = await import('./admin');
    const applied = await migrate(config);
    process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'already up to date\n');
    return;
  }
  if (command === 'contexts') {
    const { discoverContexts } = await import('./context');
    const found = discoverContexts(config.contextsDirs);
    const width = Math.max(...found.map((c) => c.name.length));
    process.stdout.write(found.map((c) => `${c.name.padEnd(width)}  ${c.bundled ? 'bundled' : 'CONTEXTS_DIR'}  ${c.dir}`).join('\n') + '\n');
    return;
  }
  if (command === 'partitions') {
    const { partitions } = await import('./admin');
    const report = await partitions(config);
    const { formatPartitions, formatUnreadStreams } = await import('./messaging/partition-report');
    // --json stays the list of groups; streams no partition reads are flagged on stderr there.
    if (sub === '--json') {
      process.stdout.write(`${JSON.stringify(report.groups, null, 2)}\n`);
      process.stderr.write(formatUnreadStreams(report.unreadStreams));
    } else process.stdout.write(formatPartitions(report.groups) + formatUnreadStreams(report.unreadStreams));
    return;
  }
  if (command === 'repartition') {
    const to = sub === '--to' ? Number(arg) : NaN;
    if (!Number.isInteger(to) || to < 1 || to > 1024) fail(`repartition takes --to N, a partition count from 1 to 1024${sub === '--to' ? `, not ${arg}` : ''}`);
    const [{ repartition }, { formatRepartition }] = await Promise.all([import('./admin'), import('./messaging/repartition')]);
    process.stdout.write(formatRepartition(await repartition(config, to)));
    return;
  }
  if (command === 'dlq' && (sub === 'list' || sub === 'redrive')) {
    const admin = await import('./admin');
    if (sub === 'list') {
      const limit = arg ? Number(arg) : 100;
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) fail(`dlq list takes a limit from 1 to 10000, not ${arg}`);
      const letters = await admin.deadLetters(config, limit);
      process.stdout.write(`${JSON.stringify(letters, null, 2)}\n`);
    } else {
      if (!arg) fail('dlq redrive needs the dead letter id (see dlq list)');
      const letter = await admin.redrive(config, arg);
      process.stdout.write(`re-driven ${letter.id} to ${letter.streamKey}\n`);
    }
    return;
  }
  if (command === 'keys' && (sub === 'create' || sub === 'list' || sub === 'revoke')) {
    await keys(config, sub, argv.slice(2));
    return;
  }
  process.stderr.write(`${USAGE}\n`);
  process.exit(command ? 2 : 0);
}

/** `--flag value` pairs of `args`; an unknown flag or one without a value fails. */
function flags(args: string[], known: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < args.length; i += 2) {
    const name = args[i].replace(/^--/, '');
    if (!args[i].startsWith('--') || !known.includes(name)) fail(`unknown option ${args[i]} (known: ${known.map((k) => `--${k}`).join(', ')})`);
    if (args[i + 1] === undefined) fail(`${args[i]} needs a value`);
    out[name] = args[i + 1];
  }
  return out;
}

async function keys(config: Config, sub: 'create' | 'list' | 'revoke', args: string[]): Promise<void> {
  const { withDatabase, migrate } = await import('./admin');
  const { createApiKey, listApiKeys, revokeApiKey } = await import('./auth/api-key-store');
  // The table may not exist yet on a fresh database.
  if (config.migrateOnStart) await migrate(config);
  if (sub === 'create') {
    const f = flags(args, ['name', 'scopes', 'account']);
    if (!f.name || !f.scopes) fail('keys create needs --name and --scopes (read, write, ops, comma-separated)');
    const { key, info } = await withDatabase(config, (db) => createApiKey(db, { name: f.name, scopes: f.scopes.split(','), accountId: f.account }));
    process.stderr.write(`created key ${info.keyId} (${info.name}; scopes ${info.scopes.join(',')}${info.accountId ? `; account ${info.accountId}` : ''}). It is shown once; store it now:\n`);
    process.stdout.write(`${key}\n`);
  } else if (sub === 'list') {
    const list = await withDatabase(config, listApiKeys);
    if (args[0] === '--json') process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
    else {
      for (const k of list) {
        process.stdout.write(`${k.keyId}  ${k.revokedAt ? 'revoked' : 'active '}  ${k.scopes.join(',').padEnd(14)}  ${(k.accountId ?? '-').padEnd(36)}  ${k.createdAt}  ${k.name}\n`);
      }
      if (!list.length) process.stdout.write('no API keys\n');
    }
  } else {
    if (!args[0] || !/^[0-9a-f]{16}$/.test(args[0])) fail('keys revoke needs a key id (16 hex digits, see keys list)');
    const info = await withDatabase(config, (db) => revokeApiKey(db, args[0]));
    process.stdout.write(`revoked ${info.keyId} (${info.name}) at ${info.revokedAt}\n`);
  }
}

main(process.argv.slice(2)).catch(async (err: Error) => {
  const { StartupError, TributaryError } = await import('./errors');
  if (err instanceof StartupError || err instanceof TributaryError) fail(err.message);
  process.stderr.write(`tributary: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
