import type { Knex } from 'knex';

/**
 * API keys (docs/security.md). Only the SHA-256 of a key's secret is stored: a key is 32
 * random bytes, so a fast hash is enough (nothing to brute-force), and a leaked table gives
 * no usable key. `account_id` binds a key to one account; `revoked_at` ends it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE IF NOT EXISTS api_keys (
      id text PRIMARY KEY,
      name text NOT NULL,
      secret_hash bytea NOT NULL,
      scopes text[] NOT NULL,
      account_id uuid NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      revoked_at timestamptz NULL
    );
    CREATE INDEX IF NOT EXISTS api_keys_active ON api_keys (id) WHERE revoked_at IS NULL;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS api_keys');
}
