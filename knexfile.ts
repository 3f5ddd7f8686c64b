/**
 * knex CLI configuration (`npx knex --knexfile knexfile.ts ...` under tsx). The runtime does
 * not need it: `npm run migrate` and start-up run the same migrations programmatically.
 */
import path from 'node:path';
import type { Knex } from 'knex';
import { availableContexts, CONTEXTS_DIR } from './runtime/context';
import { RUNTIME_MIGRATIONS } from './runtime/store/migrate';

const config: Knex.Config = {
  client: 'pg',
  connection: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/tributary',
  migrations: {
    directory: [RUNTIME_MIGRATIONS, ...availableContexts().map((c) => path.join(CONTEXTS_DIR, c, 'migrations'))],
    loadExtensions: ['.ts'],
    tableName: 'knex_migrations',
    disableMigrationsListValidation: true,
  },
};

export default config;
