import type { Logger } from '../logger';
import type { Redis } from './redis';

/**
 * A consumer's claiming of pending entries (XAUTOCLAIM): entries another consumer of the
 * group left pending longer than `claimIdleMs` (it died), and every pending entry of a
 * partition this consumer won (its old owner is fenced off).
 */
export class Claims {
  /** Won partitions to claim once more (at `at`): entries their old owner read just before it gave them back. */
  private reclaim?: { partitions: number[]; at: number };
  private lastClaim = 0;

  constructor(
    private readonly redis: Redis,
    private readonly group: string,
    private readonly consumer: string,
    private readonly settings: { claimIdleMs: number; blockMs: number },
    /** Stream keys of these partitions (of every topic of the group). */
    private readonly keysOf: (partitions: readonly number[]) => string[],
    /** Asks the read loop to look at its pending entries again at `at`. */
    private readonly schedulePending: (at: number) => void,
    private readonly log: Logger,
  ) {}

  /** What is due at the start of a read round: the second claim of won partitions, the periodic claim of abandoned entries. */
  async due(now: number, keys: () => string[]): Promise<void> {
    if (this.reclaim && now >= this.reclaim.at) {
      const { partitions } = this.reclaim;
      this.reclaim = undefined;
      await this.adopt(partitions, false);
    }
    if (now - this.lastClaim >= Math.min(this.settings.claimIdleMs, 5_000)) {
      this.lastClaim = now;
      await this.abandoned(keys());
    }
  }

  /**
   * Takes over every pending entry of these partitions at once (their old owner is fenced
   * off), and once more a read's length later: the old owner's last blocking read may still
   * deliver entries of these partitions to it after this claim, and it cannot commit them.
   */
  async adopt(partitions: number[], again = true): Promise<void> {
    for (const key of this.keysOf(partitions)) await this.claim(key, 0);
    this.schedulePending(Date.now());
    if (again) {
      const at = Date.now() + this.settings.blockMs + 500;
      this.reclaim = { partitions: [...new Set([...(this.reclaim?.partitions ?? []), ...partitions])], at };
      this.schedulePending(at);
    }
  }

  /** Takes over entries of these streams that another consumer of the group left pending too long. */
  async abandoned(keys: string[]): Promise<number> {
    let claimed = 0;
    for (const key of keys) claimed += await this.claim(key, this.settings.claimIdleMs);
    if (claimed > 0) this.schedulePending(Date.now());
    return claimed;
  }

  private async claim(key: string, minIdleMs: number): Promise<number> {
    let claimed = 0;
    let cursor = '0-0';
    do {
      const res = (await this.redis.xautoclaim(key, this.group, this.consumer, minIdleMs, cursor, 'COUNT', 100)) as [string, [string, string[]][], string[]?];
      cursor = res[0];
      claimed += res[1].filter(Boolean).length;
    } while (cursor !== '0-0');
    if (claimed > 0) this.log.info({ key, claimed }, 'claimed pending entries');
    return claimed;
  }
}
