import { expect } from 'chai';
import { accountAggregate } from '../account.aggregate';
import { AccountEventType as E, AccountStatus as S } from '../contract';
import { ActorSystem } from '../../../runtime/actors/actor-system';
import { CorruptStreamError } from '../../../runtime/actors/machine-state';
import { Topology } from '../../../runtime/messaging/topology';
import { ValidationError } from '../../../runtime/errors';
import { replay, specFor, type GivenEvent } from '../../../test/support/decider';

const profile = { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com' };
const created: GivenEvent = { type: E.ACCOUNT_CREATED, data: profile };
const confirmed: GivenEvent = { type: E.ACCOUNT_CONFIRMED };
const activated: GivenEvent = { type: E.ACCOUNT_ACTIVATED };
const suspended: GivenEvent = { type: E.ACCOUNT_SUSPENDED };
const archived: GivenEvent = { type: E.ACCOUNT_ARCHIVED };

/** Logs that lead to each reachable status. */
const logs: Record<string, GivenEvent[]> = {
  [S.ACCOUNT_CREATED]: [created],
  [S.ACCOUNT_CONFIRMED]: [created, confirmed],
  [S.ACCOUNT_ACTIVE]: [created, confirmed, activated],
  [S.ACCOUNT_SUSPENDED]: [created, confirmed, activated, suspended],
  [S.ACCOUNT_ARCHIVED]: [created, confirmed, activated, archived],
};

const account = specFor(accountAggregate);

describe('account aggregate (given / when / then)', () => {
  describe('register', () => {
    it('creates the account with the normalised profile', () => {
      const state = account
        .given([])
        .when('register', { firstName: ' Ada ', lastName: 'Lovelace', email: ' ADA@Example.com ' })
        .then([{ type: E.ACCOUNT_CREATED, data: profile }]);
      expect(state.status).to.equal(S.ACCOUNT_CREATED);
      expect(state.version).to.equal(1);
      expect(state.context).to.deep.equal(profile);
    });

    it('is refused once the account exists', () => {
      account.given(logs[S.ACCOUNT_CREATED]).when('register', profile).thenRejects('The account already exists');
    });

    it('rejects invalid input before deciding', () => {
      expect(() => account.given([]).when('register', { firstName: 'Ada' }).then([])).to.throw(ValidationError);
    });
  });

  describe('confirm', () => {
    it('confirms a created account', () => {
      const state = account.given(logs[S.ACCOUNT_CREATED]).when('confirm').then([confirmed]);
      expect(state.status).to.equal(S.ACCOUNT_CONFIRMED);
    });

    for (const status of [S.ACCOUNT_CONFIRMED, S.ACCOUNT_ACTIVE, S.ACCOUNT_SUSPENDED, S.ACCOUNT_ARCHIVED]) {
      it(`is refused when ${status}`, () => {
        account.given(logs[status]).when('confirm').thenRejects('The account has already been confirmed');
      });
    }
  });

  describe('activate', () => {
    for (const status of [S.ACCOUNT_CONFIRMED, S.ACCOUNT_SUSPENDED, S.ACCOUNT_ARCHIVED]) {
      it(`activates from ${status}`, () => {
        const state = account.given(logs[status]).when('activate').then([activated]);
        expect(state.status).to.equal(S.ACCOUNT_ACTIVE);
      });
    }

    it('is refused when already active', () => {
      account.given(logs[S.ACCOUNT_ACTIVE]).when('activate').thenRejects('The account is already active');
    });

    it('is refused before confirmation', () => {
      account.given(logs[S.ACCOUNT_CREATED]).when('activate').thenRejects('The account cannot be activated');
    });
  });

  describe('suspend', () => {
    it('suspends an active account', () => {
      const state = account.given(logs[S.ACCOUNT_ACTIVE]).when('suspend').then([suspended]);
      expect(state.status).to.equal(S.ACCOUNT_SUSPENDED);
    });

    it('is refused when already suspended', () => {
      account.given(logs[S.ACCOUNT_SUSPENDED]).when('suspend').thenRejects('The account is already suspended');
    });

    for (const status of [S.ACCOUNT_CREATED, S.ACCOUNT_CONFIRMED, S.ACCOUNT_ARCHIVED]) {
      it(`is refused when ${status} (inactive)`, () => {
        account.given(logs[status]).when('suspend').thenRejects('An inactive account cannot be suspended');
      });
    }
  });

  describe('archive', () => {
    it('archives an active account', () => {
      const state = account.given(logs[S.ACCOUNT_ACTIVE]).when('archive').then([archived]);
      expect(state.status).to.equal(S.ACCOUNT_ARCHIVED);
    });

    it('is refused when already archived', () => {
      account.given(logs[S.ACCOUNT_ARCHIVED]).when('archive').thenRejects('The account is already archived');
    });

    for (const status of [S.ACCOUNT_CREATED, S.ACCOUNT_CONFIRMED, S.ACCOUNT_SUSPENDED]) {
      it(`is refused when ${status} (inactive)`, () => {
        account.given(logs[status]).when('archive').thenRejects('An inactive account cannot be archived');
      });
    }
  });

  describe('updateProfile', () => {
    const changed = { firstName: 'Augusta', lastName: 'King', email: 'augusta@example.com' };
    for (const [status, log] of Object.entries(logs)) {
      it(`changes the profile and keeps the status when ${status}`, () => {
        const state = account.given(log).when('updateProfile', changed).then([{ type: E.ACCOUNT_UPDATED, data: changed }]);
        expect(state.status).to.equal(status);
        expect(state.context).to.deep.equal(changed);
        expect(state.version).to.equal(log.length + 1);
      });
    }
  });

  describe('replay', () => {
    it('folds the full log into the right status, profile and version', () => {
      const log = [
        created,
        confirmed,
        activated,
        suspended,
        activated,
        { type: E.ACCOUNT_UPDATED, data: { ...profile, lastName: 'King' } },
        archived,
        activated,
      ];
      const state = replay(accountAggregate, 'a1', log);
      expect(state).to.deep.equal({ id: 'a1', status: S.ACCOUNT_ACTIVE, version: 8, context: { ...profile, lastName: 'King' } });
    });

    it('throws CorruptStreamError on an event the state cannot accept', () => {
      expect(() => replay(accountAggregate, 'a1', [created, activated])).to.throw(CorruptStreamError, /ACCOUNT_ACTIVATED \(v2\)/);
      expect(() => replay(accountAggregate, 'a1', [confirmed])).to.throw(CorruptStreamError);
    });
  });

  describe('allowed commands per state (GET .../commands)', () => {
    const actors = new ActorSystem(undefined as never, new Topology('x:', 4), 0);
    actors.register(accountAggregate);
    const expected: Record<string, string[]> = {
      [S.ACCOUNT_CREATED]: ['confirm'],
      [S.ACCOUNT_CONFIRMED]: ['activate'],
      [S.ACCOUNT_ACTIVE]: ['suspend', 'archive'],
      [S.ACCOUNT_SUSPENDED]: ['activate'],
      [S.ACCOUNT_ARCHIVED]: ['activate'],
    };
    for (const [status, commands] of Object.entries(expected)) {
      it(`${status}: ${commands.join(', ')}`, () => {
        expect(actors.allowedCommands('account', replay(accountAggregate, 'a1', logs[status]))).to.deep.equal(commands);
      });
    }

    it('never lists register (creation) nor updateProfile (internal)', () => {
      for (const log of Object.values(logs)) {
        const allowed = actors.allowedCommands('account', replay(accountAggregate, 'a1', log));
        expect(allowed).to.not.include('register');
        expect(allowed).to.not.include('updateProfile');
      }
    });
  });
});
