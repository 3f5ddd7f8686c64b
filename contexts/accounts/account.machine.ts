import { assertEvent, assign, setup } from 'xstate';
import type { EventsOf } from '@tributary/runtime';
import { AccountEventType as E, AccountStatus as S, type AccountEvents, type AccountProfile } from './contract';

export type AccountContext = AccountProfile;

/** The account's events: the union its machine folds and its commands decide. */
export type AccountEvent = EventsOf<AccountEvents>;

const updatable = { [E.ACCOUNT_UPDATED]: { actions: 'takeProfile' as const } };

/**
 * The account lifecycle. States are the seed's statuses; transitions are its event types.
 * Guards from the seed's actions: confirm from CREATED (or PENDING); activate from
 * CONFIRMED, SUSPENDED or ARCHIVED; suspend and archive only from ACTIVE.
 */
export const accountMachine = setup({
  types: { context: {} as AccountContext, events: {} as AccountEvent },
  actions: {
    takeProfile: assign(({ event }) => {
      assertEvent(event, [E.ACCOUNT_CREATED, E.ACCOUNT_UPDATED]);
      const p = event.data;
      return { firstName: p.firstName, lastName: p.lastName, email: p.email };
    }),
  },
}).createMachine({
  id: 'account',
  initial: 'new',
  context: { firstName: '', lastName: '', email: '' },
  states: {
    new: { on: { [E.ACCOUNT_CREATED]: { target: S.ACCOUNT_CREATED, actions: 'takeProfile' } } },
    [S.ACCOUNT_CREATED]: { on: { [E.ACCOUNT_CONFIRMED]: S.ACCOUNT_CONFIRMED, ...updatable } },
    [S.ACCOUNT_PENDING]: { on: { [E.ACCOUNT_CONFIRMED]: S.ACCOUNT_CONFIRMED, ...updatable } },
    [S.ACCOUNT_CONFIRMED]: { on: { [E.ACCOUNT_ACTIVATED]: S.ACCOUNT_ACTIVE, ...updatable } },
    [S.ACCOUNT_ACTIVE]: {
      on: { [E.ACCOUNT_SUSPENDED]: S.ACCOUNT_SUSPENDED, [E.ACCOUNT_ARCHIVED]: S.ACCOUNT_ARCHIVED, ...updatable },
    },
    [S.ACCOUNT_SUSPENDED]: { on: { [E.ACCOUNT_ACTIVATED]: S.ACCOUNT_ACTIVE, ...updatable } },
    [S.ACCOUNT_ARCHIVED]: { on: { [E.ACCOUNT_ACTIVATED]: S.ACCOUNT_ACTIVE, ...updatable } },
  },
});
