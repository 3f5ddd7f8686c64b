import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { defineContext } from '@tributary/runtime';
import { accountAggregate } from './account.aggregate';
import { ACCOUNT } from './contract';
import { accountRoutes } from './routes';
import { activation } from './reactions';

/** Accounts: registration, the account lifecycle, and its worker that activates new accounts. */
export default defineContext({
  name: 'accounts',
  description: 'Customer accounts and their lifecycle',
  aggregates: [accountAggregate],
  collections: { accounts: '/v1/accounts{?page,size,status}' },
  routes: accountRoutes,
  subscriptions: [activation],
  migrations: path.join(__dirname, 'migrations'),
  // A demo customer, registered as POST /v1/accounts does; the activation worker makes it active.
  async demo({ actors }) {
    const id = randomUUID();
    const profile = { firstName: 'Demo', lastName: 'Customer', email: `demo.${id.slice(0, 8)}@example.com` };
    await actors.execute(ACCOUNT, id, 'register', profile, { expectedVersion: 0 });
    return { account: `/v1/accounts/${id}` };
  },
});
