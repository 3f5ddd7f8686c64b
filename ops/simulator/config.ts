/**
 * The simulator's settings: flags first, then environment variables, then the original's
 * defaults. Every rate is per unit of simulated time; `--speed` multiplies all of them.
 */

export interface SimulatorConfig {
  url: string;
  /** Sent as `Authorization: Bearer …` (an API key or a token) to a deployment that requires one. */
  token?: string;
  accountsPerMinute: number;
  unitsPerSecond: number;
  ordersPerSecond: number;
  minLines: number;
  maxLines: number;
  maxQuantity: number;
  products: string[];
  /** Accounts that receive orders: the first N the simulator created. */
  orderAccounts: number;
  warehouseName: string;
  /** Seconds of sending; 0 = until Ctrl-C. */
  durationSeconds: number;
  speed: number;
  chaos: boolean;
  /** Share of orders (0..1) that chaos mode makes fail on purpose. */
  chaosShare: number;
  /** Which failing orders chaos sends, evenly: declined, no-answer, out-of-stock. */
  chaosKinds: string[];
  conflictsPerMinute: number;
  malformedPerMinute: number;
  /** How long an order may take from POST to a terminal status before it counts as unexpected. */
  orderTimeoutSeconds: number;
  /** 503 answers are expected (an outage the operator announced); other 5xx never are. */
  allow503: boolean;
  /** Requests in flight at most, per kind, so a slow deployment cannot make memory grow. */
  maxInFlight: number;
  pollMs: number;
  jsonSummary?: string;
  /** `auto`: an updating line on a terminal, a plain line every few seconds otherwise. */
  progress: 'auto' | 'tty' | 'plain' | 'off';
  progressEverySeconds: number;
  help: boolean;
}

interface Option {
  flag: string;
  env: string;
  key: keyof SimulatorConfig;
  kind: 'string' | 'number' | 'boolean' | 'list';
  help: string;
}

const OPTIONS: Option[] = [
  { flag: 'url', env: 'SIM_URL', key: 'url', kind: 'string', help: 'base URL of the deployment (any web process)' },
  { flag: 'token', env: 'SIM_TOKEN', key: 'token', kind: 'string', help: 'API key or token, sent as Authorization: Bearer (docs/security.md)' },
  { flag: 'accounts-per-minute', env: 'SIM_ACCOUNTS_PER_MINUTE', key: 'accountsPerMinute', kind: 'number', help: 'new accounts per minute' },
  { flag: 'units-per-second', env: 'SIM_UNITS_PER_SECOND', key: 'unitsPerSecond', kind: 'number', help: 'inventory units added per second (one product after the other)' },
  { flag: 'orders-per-second', env: 'SIM_ORDERS_PER_SECOND', key: 'ordersPerSecond', kind: 'number', help: 'orders per second' },
  { flag: 'min-lines', env: 'SIM_MIN_LINES', key: 'minLines', kind: 'number', help: 'fewest lines per order' },
  { flag: 'max-lines', env: 'SIM_MAX_LINES', key: 'maxLines', kind: 'number', help: 'most lines per order' },
  { flag: 'max-quantity', env: 'SIM_MAX_QUANTITY', key: 'maxQuantity', kind: 'number', help: 'largest quantity of one line (at least 1)' },
  { flag: 'products', env: 'SIM_PRODUCTS', key: 'products', kind: 'list', help: 'comma-separated product ids, or a count N for SKU-0..SKU-(N-1)' },
  { flag: 'order-accounts', env: 'SIM_ORDER_ACCOUNTS', key: 'orderAccounts', kind: 'number', help: 'orders go to one of the first N accounts created' },
  { flag: 'warehouse', env: 'SIM_WAREHOUSE', key: 'warehouseName', kind: 'string', help: 'name of the warehouse to stock (created when missing)' },
  { flag: 'duration', env: 'SIM_DURATION', key: 'durationSeconds', kind: 'number', help: 'seconds of sending, then wait for orders in flight; 0 = until Ctrl-C' },
  { flag: 'speed', env: 'SIM_SPEED', key: 'speed', kind: 'number', help: 'multiplies every rate' },
  { flag: 'chaos', env: 'SIM_CHAOS', key: 'chaos', kind: 'boolean', help: 'add orders that must fail, conflicting commands and malformed requests' },
  { flag: 'chaos-share', env: 'SIM_CHAOS_SHARE', key: 'chaosShare', kind: 'number', help: 'share of orders (0..1) that must fail in chaos mode' },
  { flag: 'chaos-kinds', env: 'SIM_CHAOS_KINDS', key: 'chaosKinds', kind: 'list', help: 'failing orders chaos sends, comma-separated: declined, no-answer, out-of-stock' },
  { flag: 'conflicts-per-minute', env: 'SIM_CONFLICTS_PER_MINUTE', key: 'conflictsPerMinute', kind: 'number', help: 'chaos: concurrent suspend + archive pairs per minute' },
  { flag: 'malformed-per-minute', env: 'SIM_MALFORMED_PER_MINUTE', key: 'malformedPerMinute', kind: 'number', help: 'chaos: malformed requests per minute (each must get a 4xx)' },
  { flag: 'order-timeout', env: 'SIM_ORDER_TIMEOUT', key: 'orderTimeoutSeconds', kind: 'number', help: 'seconds an order may take to reach a terminal status' },
  { flag: 'allow-503', env: 'SIM_ALLOW_503', key: 'allow503', kind: 'boolean', help: 'an announced outage: 503 answers do not fail the run' },
  { flag: 'max-in-flight', env: 'SIM_MAX_IN_FLIGHT', key: 'maxInFlight', kind: 'number', help: 'requests in flight at most per kind (beyond it a tick is skipped and counted)' },
  { flag: 'poll-ms', env: 'SIM_POLL_MS', key: 'pollMs', kind: 'number', help: 'how often an order in flight is read back' },
  { flag: 'json-summary', env: 'SIM_JSON_SUMMARY', key: 'jsonSummary', kind: 'string', help: 'also write the summary as JSON to this file' },
  { flag: 'progress', env: 'SIM_PROGRESS', key: 'progress', kind: 'string', help: 'auto | tty | plain | off' },
  { flag: 'progress-every', env: 'SIM_PROGRESS_EVERY', key: 'progressEverySeconds', kind: 'number', help: 'seconds between plain progress lines' },
  { flag: 'help', env: '', key: 'help', kind: 'boolean', help: 'this text' },
];

/** The original's rates and mix. */
export const DEFAULTS: SimulatorConfig = {
  url: 'http://127.0.0.1:3000',
  accountsPerMinute: 2,
  unitsPerSecond: 10,
  ordersPerSecond: 0.2,
  minLines: 1,
  maxLines: 3,
  maxQuantity: 1,
  products: Array.from({ length: 10 }, (_, i) => `SKU-${i}`),
  orderAccounts: 5,
  warehouseName: 'Simulator',
  durationSeconds: 0,
  speed: 1,
  chaos: false,
  chaosShare: 0.25,
  chaosKinds: ['declined', 'no-answer', 'out-of-stock'],
  conflictsPerMinute: 6,
  malformedPerMinute: 12,
  orderTimeoutSeconds: 300,
  allow503: false,
  maxInFlight: 64,
  pollMs: 500,
  progress: 'auto',
  progressEverySeconds: 5,
  help: false,
};

export class UsageError extends Error {}

function convert(o: Option, raw: string): unknown {
  switch (o.kind) {
    case 'string':
      return raw;
    case 'boolean':
      if (/^(1|true|yes|on|)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      throw new UsageError(`--${o.flag}: expected true or false, got "${raw}"`);
    case 'number': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n) || n < 0) throw new UsageError(`--${o.flag}: expected a number ≥ 0, got "${raw}"`);
      return n;
    }
    case 'list': {
      if (/^\d+$/.test(raw)) return Array.from({ length: Number(raw) }, (_, i) => `SKU-${i}`);
      const list = raw.split(',').map((s) => s.trim()).filter(Boolean);
      if (list.length === 0) throw new UsageError(`--${o.flag}: expected at least one product`);
      return list;
    }
  }
}

/** Reads flags (`--name value`, `--name=value`, `--flag` for booleans) over environment over defaults. */
export function parseConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): SimulatorConfig {
  const config: Record<string, unknown> = { ...DEFAULTS };
  for (const o of OPTIONS) if (o.env && env[o.env] !== undefined) config[o.key] = convert(o, env[o.env]!);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h') {
      config.help = true;
      continue;
    }
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(arg);
    const o = m && OPTIONS.find((x) => x.flag === m[1]);
    if (!m || !o) throw new UsageError(`unknown argument "${arg}" (see --help)`);
    let value = m[2];
    if (value === undefined) {
      if (o.kind === 'boolean') value = argv[i + 1] !== undefined && /^(true|false)$/.test(argv[i + 1]) ? argv[++i] : 'true';
      else if (argv[i + 1] === undefined) throw new UsageError(`--${o.flag} needs a value`);
      else value = argv[++i];
    }
    config[o.key] = convert(o, value);
  }
  const c = config as unknown as SimulatorConfig;
  if (c.maxLines < c.minLines || c.minLines < 1) throw new UsageError('--min-lines must be at least 1 and at most --max-lines');
  if (c.maxQuantity < 1) throw new UsageError('--max-quantity must be at least 1');
  if (c.chaosShare > 1) throw new UsageError('--chaos-share must be between 0 and 1');
  const unknownKind = c.chaosKinds.find((k) => !['declined', 'no-answer', 'out-of-stock'].includes(k));
  if (unknownKind !== undefined) throw new UsageError(`--chaos-kinds: unknown kind "${unknownKind}" (declined, no-answer, out-of-stock)`);
  if (c.speed <= 0) throw new UsageError('--speed must be above 0');
  if (!['auto', 'tty', 'plain', 'off'].includes(c.progress)) throw new UsageError('--progress must be auto, tty, plain or off');
  if (c.orderAccounts < 1) throw new UsageError('--order-accounts must be at least 1');
  c.url = c.url.replace(/\/+$/, '');
  return c;
}

/** The `--help` text: every option with its environment variable and default. */
export function helpText(): string {
  const lines = [
    'npm run simulate -- [options]',
    '',
    'Drives a Tributary deployment over its HTTP API only: accounts, inventory and orders at',
    'the given rates, optionally chaos, then checks that every order ended as expected and',
    'prints a summary. Exits 1 when an expectation failed, 2 on a usage error.',
    '',
    'Options (flag, environment variable, default):',
  ];
  for (const o of OPTIONS) {
    const d = DEFAULTS[o.key];
    const shown = Array.isArray(d) ? (d.length === 10 && d[0] === 'SKU-0' ? 'SKU-0..SKU-9' : d.join(',')) : d === undefined ? '-' : String(d);
    const flag = `--${o.flag}${o.kind === 'boolean' ? '' : ' <' + (o.kind === 'number' ? 'n' : 'value') + '>'}`;
    lines.push(`  ${flag.padEnd(28)} ${o.env.padEnd(26)} ${o.key === 'help' ? '' : shown}`);
    lines.push(`      ${o.help}`);
  }
  lines.push('', 'Example: npm run simulate -- --speed 20 --duration 60 --chaos');
  return lines.join('\n');
}
