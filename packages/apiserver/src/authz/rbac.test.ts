import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Attributes, Binding, Policy, Role } from './rbac.ts';
import { RbacAuthorizer, forbiddenMessage, ruleAllows } from './rbac.ts';
import {
  bootstrapClusterRoleBindings,
  bootstrapClusterRoles,
  clusterAdminRoleIdBinding,
} from './bootstrap.ts';

const alice = { username: 'alice', groups: ['system:authenticated'] };
const res = (verb: string, resource: string, extra: Partial<Attributes> = {}): Attributes => ({
  user: alice,
  verb,
  resourceRequest: true,
  apiGroup: '',
  resource,
  ...extra,
});

test('ruleAllows: verbs, groups, subresources, resourceNames, nonResourceURLs', () => {
  const cases: [Parameters<typeof ruleAllows>[0], Attributes, boolean][] = [
    [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }, res('get', 'pods'), true],
    [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }, res('list', 'pods'), false],
    [
      { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
      res('delete', 'deployments', { apiGroup: 'apps' }),
      true,
    ],
    [{ verbs: ['get'], apiGroups: ['apps'], resources: ['pods'] }, res('get', 'pods'), false],
    [
      { verbs: ['get'], apiGroups: [''], resources: ['pods'] },
      res('get', 'pods', { subresource: 'status' }),
      false,
    ],
    [
      { verbs: ['get'], apiGroups: [''], resources: ['pods/status'] },
      res('get', 'pods', { subresource: 'status' }),
      true,
    ],
    [
      { verbs: ['get'], apiGroups: [''], resources: ['*/status'] },
      res('get', 'pods', { subresource: 'status' }),
      true,
    ],
    [
      { verbs: ['get'], apiGroups: [''], resources: ['pods'], resourceNames: ['a'] },
      res('get', 'pods', { name: 'a' }),
      true,
    ],
    [
      { verbs: ['get'], apiGroups: [''], resources: ['pods'], resourceNames: ['a'] },
      res('get', 'pods', { name: 'b' }),
      false,
    ],
    [
      { verbs: ['create'], apiGroups: [''], resources: ['pods'], resourceNames: ['a'] },
      res('create', 'pods'),
      false,
    ],
    [
      { verbs: ['get'], nonResourceURLs: ['/healthz'] },
      { user: alice, verb: 'get', resourceRequest: false, path: '/healthz' },
      true,
    ],
    [
      { verbs: ['get'], nonResourceURLs: ['/apis/*'] },
      { user: alice, verb: 'get', resourceRequest: false, path: '/apis/apps' },
      true,
    ],
    [
      { verbs: ['get'], nonResourceURLs: ['/apis'] },
      { user: alice, verb: 'get', resourceRequest: false, path: '/apis/apps' },
      false,
    ],
  ];
  for (const [rule, attrs, want] of cases)
    assert.equal(ruleAllows(rule, attrs), want, JSON.stringify({ rule, attrs }));
});

function policy(extra: Partial<Policy>): Policy {
  return {
    roles: [],
    clusterRoles: bootstrapClusterRoles(),
    roleBindings: [],
    clusterRoleBindings: bootstrapClusterRoleBindings(),
    ...extra,
  };
}

test('deny by default; system:masters is a superuser; discovery for authenticated users', () => {
  const a = new RbacAuthorizer(policy({}));
  assert.equal(a.authorize(res('get', 'pods', { namespace: 'x' })).allowed, false);
  assert.equal(
    a.authorize({ ...res('delete', 'nodes'), user: { username: 'root', groups: ['system:masters'] } })
      .allowed,
    true,
  );
  assert.equal(
    a.authorize({ user: alice, verb: 'get', resourceRequest: false, path: '/apis/apps/v1' }).allowed,
    true,
  );
  assert.equal(
    a.authorize({ user: { username: 'x', groups: [] }, verb: 'get', resourceRequest: false, path: '/apis' })
      .allowed,
    false,
  );
});

test('RoleBinding grants only in its namespace; aggregated view/edit/admin', () => {
  const rb: Binding = {
    metadata: { name: 'alice-view', namespace: 'team' },
    roleRef: { kind: 'ClusterRole', name: 'view' },
    subjects: [{ kind: 'User', name: 'alice' }],
  };
  const a = new RbacAuthorizer(policy({ roleBindings: [rb] }));
  assert.equal(a.authorize(res('list', 'pods', { namespace: 'team' })).allowed, true);
  assert.equal(a.authorize(res('list', 'pods', { namespace: 'other' })).allowed, false);
  assert.equal(a.authorize(res('create', 'pods', { namespace: 'team' })).allowed, false);
  assert.equal(a.authorize(res('get', 'secrets', { namespace: 'team' })).allowed, false);
  const edit = new RbacAuthorizer(
    policy({ roleBindings: [{ ...rb, roleRef: { kind: 'ClusterRole', name: 'edit' } }] }),
  );
  assert.equal(
    edit.authorize(res('create', 'deployments', { namespace: 'team', apiGroup: 'apps' })).allowed,
    true,
  );
  assert.equal(
    edit.authorize(res('list', 'pods', { namespace: 'team' })).allowed,
    true,
    'edit aggregates view',
  );
  assert.equal(
    edit.authorize(res('create', 'roles', { namespace: 'team', apiGroup: 'rbac.authorization.k8s.io' }))
      .allowed,
    false,
  );
});

test('Role, ServiceAccount subjects, group = keystone role id binding', () => {
  const role: Role = {
    metadata: { name: 'r', namespace: 'ns' },
    rules: [{ verbs: ['get'], apiGroups: [''], resources: ['configmaps'] }],
  };
  const rb: Binding = {
    metadata: { name: 'b', namespace: 'ns' },
    roleRef: { kind: 'Role', name: 'r' },
    subjects: [{ kind: 'ServiceAccount', name: 'bot' }],
  };
  const a = new RbacAuthorizer(
    policy({
      roles: [role],
      roleBindings: [rb],
      clusterRoleBindings: [
        ...bootstrapClusterRoleBindings(),
        clusterAdminRoleIdBinding(['9fe2ff9ee4384b1894a90878d3e92bab']),
      ],
    }),
  );
  const bot = { username: 'system:serviceaccount:ns:bot', groups: ['system:serviceaccounts'] };
  assert.equal(a.authorize({ ...res('get', 'configmaps', { namespace: 'ns' }), user: bot }).allowed, true);
  assert.equal(
    a.authorize({
      ...res('get', 'configmaps', { namespace: 'ns' }),
      user: { ...bot, username: 'system:serviceaccount:other:bot' },
    }).allowed,
    false,
  );
  const keystoneUser = {
    username: 'bob',
    groups: ['9fe2ff9ee4384b1894a90878d3e92bab', 'system:authenticated'],
  };
  assert.equal(a.authorize({ ...res('delete', 'nodes'), user: keystoneUser }).allowed, true);
  assert.equal(
    forbiddenMessage(res('list', 'pods', { namespace: 'x' })),
    'pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "x"',
  );
});
