import { assign, setup } from 'xstate';
import { AccountEventType as E, AccountStatus as S, type AccountProfile } from './contract';

export type AccountContext = AccountProfile;

type ProfileEvent = { type: typeof E.ACCOUNT_CREATED | typeof E.ACCOUNT_UPDATED; data: AccountProfile };
type StatusEvent = {
  type: typeof E.ACCOUNT_CONFIRMED | typeof E.ACCOUNT_ACTIVATED | typeof E.ACCOUNT_SUSPENDED | typeof E.ACCOUNT_ARCHIVED;
  data?: Record<string, never>;
};
export type AccountMachineEvent = ProfileEvent | StatusEvent;

const updatable = { [E.ACCOUNT_UPDATED]: { actions: 'takeProfile' as const } };

/**
 * The account lifecycle. States are the seed's statuses; transitions are its event types.
 * Guards from the seed's actions: confirm from CREATED (or PENDING); activate from
 * CONFIRMED, SUSPENDED or ARCHIVED; suspend and archive only from ACTIVE.
 */
export const accountMachine = setup({
  types: { context: {} as AccountContext, events: {} as AccountMachineEvent },
  actions: {
    takeProfile: assign(({ event }) => {
      const p = (event as ProfileEvent).data;
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
