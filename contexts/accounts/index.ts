import path from 'node:path';
import { defineContext } from '../../runtime';
import { accountAggregate } from './account.aggregate';
import { accountRoutes } from './routes';
import { activation } from './reactions';

/** Accounts: registration, the account lifecycle, and its worker that activates new accounts. */
export default defineContext({
  name: 'accounts',
  description: 'Customer accounts and their lifecycle',
  aggregates: [accountAggregate],
  collections: { accounts: '/v1/accounts{?page,size}' },
  routes: accountRoutes,
  subscriptions: [activation],
  migrations: path.join(__dirname, 'migrations'),
});
