import type { Knex } from 'knex';

/** The accounts read model, written in the same transaction as the account's events. */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE accounts (
      account_id  uuid PRIMARY KEY,
      first_name  text NOT NULL,
      last_name   text NOT NULL,
      email       text NOT NULL,
      status      text NOT NULL,
      version     integer NOT NULL,
      created_at  timestamptz NOT NULL DEFAULT now(),
      updated_at  timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT accounts_email_unique UNIQUE (email)
    );
    CREATE INDEX accounts_created ON accounts (created_at, account_id);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS accounts');
}
