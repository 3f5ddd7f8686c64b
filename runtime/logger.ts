import pino, { type Logger } from 'pino';

export type { Logger };

/** One JSON logger per process; children carry the component name. */
export function createLogger(level: string, name = 'tributary'): Logger {
  return pino({ name, level, base: { pid: process.pid } });
}
