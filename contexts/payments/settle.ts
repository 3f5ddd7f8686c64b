/**
 * The deadline of a payment failed while its charge was pending: when it fires, the payments
 * saga makes sure no approved charge stands for it (reactions.ts, settleCharge), and the
 * charge job cancels it once it has refunded one (charge-job.ts).
 */
export const SETTLE_DEADLINE = 'settle-charge';
