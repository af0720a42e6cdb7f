// Pure decisions, as tables: microversion negotiation, keystone auth bodies, tag filters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { negotiateMicroversion, compareMicroversions } from './nova.ts';
import { authBody } from './session.ts';
import { tagQuery } from './neutron.ts';
import { fqdn } from './designate.ts';

test('microversions: ours capped by the cloud, none when the cloud is too old', () => {
  const client = { min: '2.26', max: '2.79' };
  const cases: [{ min: string; max: string }, string | undefined][] = [
    [{ min: '2.1', max: '2.93' }, '2.79'], // Zed
    [{ min: '2.1', max: '2.79' }, '2.79'], // Train (RHOSP 16)
    [{ min: '2.1', max: '2.60' }, '2.60'], // Queens (RHOSP 13)
    [{ min: '2.1', max: '2.25' }, undefined],
    [{ min: '', max: '' }, undefined], // no microversions at all
  ];
  for (const [server, want] of cases)
    assert.equal(negotiateMicroversion(server, client), want, JSON.stringify(server));
  assert.ok(compareMicroversions('2.10', '2.9') > 0, 'numeric, not lexical');
});

test('keystone auth bodies: password, token, application credential; project, domain, system scope', () => {
  const user = { name: 'demo', domain: { name: 'Default' } };
  assert.deepEqual(authBody({ type: 'password', user, password: 'p' }, { domain: { id: 'default' } }), {
    auth: {
      identity: {
        methods: ['password'],
        password: { user: { name: 'demo', domain: { name: 'Default' }, password: 'p' } },
      },
      scope: { domain: { id: 'default' } },
    },
  });
  assert.deepEqual(authBody({ type: 'token', token: 't' }, { project: { id: 'p1' } }), {
    auth: { identity: { methods: ['token'], token: { id: 't' } }, scope: { project: { id: 'p1' } } },
  });
  assert.deepEqual(authBody({ type: 'password', user: { id: 'u' }, password: 'p' }, { system: true }), {
    auth: {
      identity: { methods: ['password'], password: { user: { id: 'u', password: 'p' } } },
      scope: { system: { all: true } },
    },
  });
  // an application credential carries its own project: no scope even when one is given
  assert.deepEqual(
    authBody({ type: 'application_credential', id: 'ac', secret: 's' }, { project: { id: 'p1' } }),
    {
      auth: {
        identity: { methods: ['application_credential'], application_credential: { id: 'ac', secret: 's' } },
      },
    },
  );
});

test('tag filters and DNS names', () => {
  assert.deepEqual(tagQuery(['a', 'b']), { tags: 'a,b' });
  assert.deepEqual(tagQuery(['a', 'b'], true), { 'tags-any': 'a,b' });
  assert.deepEqual(tagQuery([]), {});
  assert.equal(fqdn('api.example.org'), 'api.example.org.');
  assert.equal(fqdn('api.example.org.'), 'api.example.org.');
});
