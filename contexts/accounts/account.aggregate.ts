import { z } from 'zod';
import { defineAggregate, type AggregateState } from '@tributary/runtime';
import { accountMachine, type AccountContext, type AccountEvent } from './account.machine';
import { ACCOUNT, ACCOUNTS_TOPIC, AccountEventType as E, AccountStatus as S } from './contract';
import { EMAIL_TAKEN, accountRow } from './read-model';

const name = (field: string) =>
  z.string({ error: (i) => (i.input === undefined ? `${field} is required` : `${field} must be a string`) })
    .trim()
    .min(1, `${field} is required`)
    .max(100, `${field} must be at most 100 characters`);

/** The profile a client supplies: all three fields, a valid email, nothing else. */
export const accountProfile = z
  .object({
    firstName: name('First name'),
    lastName: name('Last name'),
    email: z
      .string({ error: (i) => (i.input === undefined ? 'Email is required' : 'Email must be a string') })
      .trim()
      .toLowerCase()
      .pipe(z.email('Email must be a valid email address'))
      .pipe(z.string().max(254, 'Email must be at most 254 characters')),
  })
  .strict();

type State = AggregateState<AccountContext>;
const is = (s: State, ...statuses: string[]) => statuses.includes(s.status);

/** The account aggregate: the seed's commands with its guard messages. */
export const accountAggregate = defineAggregate<AccountContext, AccountEvent>({
  type: ACCOUNT,
  topic: ACCOUNTS_TOPIC,
  machine: accountMachine,
  commands: {
    register: {
      event: E.ACCOUNT_CREATED,
      input: accountProfile,
      creates: true,
      rejection: () => 'The account already exists',
    },
    updateProfile: {
      event: E.ACCOUNT_UPDATED,
      input: accountProfile,
      public: false, // reached through PUT /v1/accounts/{id}
      rejection: () => 'The account cannot be updated',
    },
    confirm: {
      event: E.ACCOUNT_CONFIRMED,
      rejection: () => 'The account has already been confirmed',
    },
    activate: {
      event: E.ACCOUNT_ACTIVATED,
      rejection: (s) => (is(s, S.ACCOUNT_ACTIVE) ? 'The account is already active' : 'The account cannot be activated'),
    },
    suspend: {
      event: E.ACCOUNT_SUSPENDED,
      rejection: (s) => (is(s, S.ACCOUNT_SUSPENDED) ? 'The account is already suspended' : 'An inactive account cannot be suspended'),
    },
    archive: {
      event: E.ACCOUNT_ARCHIVED,
      rejection: (s) => (is(s, S.ACCOUNT_ARCHIVED) ? 'The account is already archived' : 'An inactive account cannot be archived'),
    },
  },
  projectRow: accountRow,
  uniqueViolations: EMAIL_TAKEN,
  readModel: { table: 'accounts', id: 'account_id', status: 'status', version: 'version' },
});
