import { accessCondition, selectPage, type AccountAccess, type Change, type Queryable, type RowUpsert } from '@tributary/runtime';
import type { AccountContext } from './account.machine';
import type { AccountStatus, AccountView } from './contract';

interface AccountRow {
  account_id: string;
  first_name: string;
  last_name: string;
  email: string;
  status: AccountStatus;
  version: number;
  created_at: Date;
  updated_at: Date;
}

const toView = (r: AccountRow): AccountView => ({
  accountId: r.account_id,
  firstName: r.first_name,
  lastName: r.last_name,
  email: r.email,
  status: r.status,
  version: r.version,
  createdAt: r.created_at.toISOString(),
  lastModified: r.updated_at.toISOString(),
});

/**
 * The account row, upserted by the same statement that appends the command's events. The
 * unique email index makes a taken email fail the whole command: no event, no outbox row,
 * 409 (see `uniqueViolations` on the aggregate).
 */
export function accountRow(change: Change<AccountContext>): RowUpsert {
  const { id, after } = change;
  const c = after.context;
  return {
    table: 'accounts',
    key: ['account_id'],
    values: { account_id: id, first_name: c.firstName, last_name: c.lastName, email: c.email, status: after.status, version: after.version },
    update: ['first_name', 'last_name', 'email', 'status', 'version'],
    touch: 'updated_at',
  };
}

export const EMAIL_TAKEN = { accounts_email_unique: 'An account with the supplied email already exists' };

/** The account with this id, if `access` reaches it. */
export async function findAccount(db: Queryable, id: string, access: AccountAccess): Promise<AccountView | undefined> {
  const only = accessCondition(access, 'account_id');
  const { rows } = await db.raw<{ rows: AccountRow[] }>(`SELECT * FROM accounts WHERE account_id = ?${only.sql ? ` AND ${only.sql}` : ''}`, [id, ...only.params]);
  return rows[0] && toView(rows[0]);
}

/** The accounts `access` reaches, one page (optionally in one status). */
export async function listAccounts(db: Queryable, access: AccountAccess, page: number, size: number, status?: string): Promise<{ items: AccountView[]; total: number }> {
  const where: string[] = [];
  const params: string[] = [];
  const only = accessCondition(access, 'account_id');
  if (only.sql) where.push(only.sql), params.push(...only.params);
  if (status) where.push('status = ?'), params.push(status);
  const filter = where.length ? { where: where.join(' AND '), params } : {};
  const { rows, total } = await selectPage<AccountRow>(db, { from: 'accounts', ...filter, orderBy: 'created_at, account_id' }, page, size);
  return { items: rows.map(toView), total };
}
