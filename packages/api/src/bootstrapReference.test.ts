// docs/bootstrap.md must equal what the schemas generate. `--update` rewrites it:
//   node packages/api/src/bootstrapReference.test.ts --update
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { applyGeneratedSections, bootstrapReferenceSections, fieldTable } from './bootstrapReference.ts';
import { ClusterSchema } from './cluster.ts';
import { validationRules } from './problems.ts';

const docPath = new URL('../../../docs/bootstrap.md', import.meta.url);

if (process.argv.includes('--update')) {
  const doc = readFileSync(docPath, 'utf8');
  writeFileSync(docPath, applyGeneratedSections(doc, bootstrapReferenceSections()));
}

test('docs/bootstrap.md is up to date with the schemas', () => {
  const doc = readFileSync(docPath, 'utf8');
  const expected = applyGeneratedSections(doc, bootstrapReferenceSections());
  assert.equal(doc, expected, 'regenerate: node packages/api/src/bootstrapReference.test.ts --update');
});

test('the field table lists every spec field with its default and rules', () => {
  const rows = fieldTable(ClusterSchema).split('\n');
  const cases: { field: string; contains: string[] }[] = [
    { field: 'spec.nodePools[].replicas', contains: ['integer', '`1`', '1 to 500'] },
    { field: 'spec.provider.openstack.region', contains: ['yes'] },
    { field: 'spec.provider.openstack', contains: ['when type is openstack'] },
    { field: 'spec.provider.local.latencyScale', contains: ['`0.1`'] },
    { field: 'spec.network.serviceCIDR', contains: ['`10.96.0.0/12`', 'a CIDR'] },
    { field: 'spec.controlPlane.replicas', contains: ['1 to 5'] },
    { field: 'spec.provider.eks.endpointAccess', contains: ['`Public`, `Private`, `PublicAndPrivate`'] },
    { field: 'spec.services.ssoProxy.enabled', contains: ['boolean', '`true`'] },
  ];
  for (const c of cases) {
    const row = rows.find((r) => r.startsWith(`| \`${c.field}\` |`));
    assert.ok(row, `no row for ${c.field}`);
    for (const text of c.contains) assert.ok(row.includes(text), `${c.field}: ${row} lacks ${text}`);
  }
});

test('every rule code is documented', () => {
  const rules = bootstrapReferenceSections().rules ?? '';
  for (const code of Object.keys(validationRules)) assert.ok(rules.includes(`\`${code}\``), code);
});

test('a missing section marker is an error, not a silent skip', () => {
  assert.throws(() => applyGeneratedSections('# nothing here\n', { rules: 'x' }), /no section rules/);
});
