/**
 * Progress a person can watch: on a terminal, one line rewritten in place; without one
 * (a log, a CI job), one plain line every few seconds.
 */
export interface ProgressFacts {
  elapsedMs: number;
  orders: number;
  inFlight: number;
  succeeded: number;
  failed: number;
  p99?: number;
  errors: number;
  stopping: boolean;
}

export function progressLine(f: ProgressFacts): string {
  const s = f.elapsedMs / 1000;
  const rate = s > 0 ? (f.orders / s).toFixed(2) : '0.00';
  return `${s.toFixed(0)} s  orders/s ${rate}  in flight ${f.inFlight}  succeeded ${f.succeeded}  failed ${f.failed}  p99 ${f.p99 === undefined ? '-' : `${f.p99} ms`}  errors ${f.errors}${f.stopping ? '  (stopping: waiting for orders in flight)' : ''}`;
}

export class Progress {
  private lastPlainAt = 0;
  private drawn = false;

  constructor(
    private readonly mode: 'tty' | 'plain' | 'off',
    private readonly everyMs: number,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {}

  /** Called often; draws on a terminal, or prints when a plain line is due. */
  update(f: ProgressFacts, now = Date.now()): void {
    if (this.mode === 'tty') {
      this.out.write(`\r\x1b[2K${progressLine(f)}`);
      this.drawn = true;
    } else if (this.mode === 'plain' && now - this.lastPlainAt >= this.everyMs) {
      this.lastPlainAt = now;
      this.out.write(`${progressLine(f)}\n`);
    }
  }

  /** Ends the updating line so what follows starts on its own line. */
  done(): void {
    if (this.drawn) this.out.write('\n');
    this.drawn = false;
  }
}
