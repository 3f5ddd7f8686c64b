/**
 * The accounts context's published language: what other contexts may know of it.
 * (The seed's statuses and event types, so its documentation reads true of this system.)
 */
import { defineTopic } from '@tributary/runtime';

export const ACCOUNTS_TOPIC = 'accounts';
export const ACCOUNT = 'account';

export const AccountStatus = {
  ACCOUNT_CREATED: 'ACCOUNT_CREATED',
  /** Kept for fidelity with the seed; never entered, since a status change needs an event and the seed has none for it. */
  ACCOUNT_PENDING: 'ACCOUNT_PENDING',
  ACCOUNT_CONFIRMED: 'ACCOUNT_CONFIRMED',
  ACCOUNT_ACTIVE: 'ACCOUNT_ACTIVE',
  ACCOUNT_SUSPENDED: 'ACCOUNT_SUSPENDED',
  ACCOUNT_ARCHIVED: 'ACCOUNT_ARCHIVED',
} as const;
export type AccountStatus = (typeof AccountStatus)[keyof typeof AccountStatus];

export const AccountEventType = {
  ACCOUNT_CREATED: 'ACCOUNT_CREATED',
  ACCOUNT_CONFIRMED: 'ACCOUNT_CONFIRMED',
  ACCOUNT_ACTIVATED: 'ACCOUNT_ACTIVATED',
  ACCOUNT_SUSPENDED: 'ACCOUNT_SUSPENDED',
  ACCOUNT_ARCHIVED: 'ACCOUNT_ARCHIVED',
  /** New here: a profile change is an event too (the seed's PUT changed state silently). */
  ACCOUNT_UPDATED: 'ACCOUNT_UPDATED',
} as const;
export type AccountEventType = (typeof AccountEventType)[keyof typeof AccountEventType];

export interface AccountProfile {
  firstName: string;
  lastName: string;
  email: string;
}

/**
 * The account's events, published on {@link ACCOUNTS_TOPIC}: event type → payload. The
 * account aggregate's event union is built from it.
 */
export interface AccountEvents {
  ACCOUNT_CREATED: AccountProfile;
  ACCOUNT_UPDATED: AccountProfile;
  ACCOUNT_CONFIRMED: Record<string, never>;
  ACCOUNT_ACTIVATED: Record<string, never>;
  ACCOUNT_SUSPENDED: Record<string, never>;
  ACCOUNT_ARCHIVED: Record<string, never>;
}

/** The accounts topic, typed: a subscription over it receives these events typed. */
export const accountsTopic = defineTopic<AccountEvents>(ACCOUNTS_TOPIC);

/** An account as the API shows it. */
export interface AccountView extends AccountProfile {
  accountId: string;
  status: AccountStatus;
  version: number;
  createdAt: string;
  lastModified: string;
}
