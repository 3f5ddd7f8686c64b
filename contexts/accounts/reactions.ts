import { defineSubscription } from '@tributary/runtime';
import { ACCOUNT, AccountEventType as E, accountsTopic } from './contract';

/**
 * The account worker: a new account is confirmed, a confirmed one activated, without client
 * action (the seed's account worker, minus the status it forced without an event).
 */
export const activation = defineSubscription({
  name: 'activation',
  topics: [accountsTopic],
  types: [E.ACCOUNT_CREATED, E.ACCOUNT_CONFIRMED],
  async handle({ message, execute }) {
    if (message.type === E.ACCOUNT_CREATED) await execute(ACCOUNT, message.actor.id, 'confirm');
    else await execute(ACCOUNT, message.actor.id, 'activate');
  },
});
