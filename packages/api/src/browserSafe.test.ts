// @kaas/api is loaded by the console in a browser: its sources import only zod, yaml and each
// other, and touch no Node.js globals. (Tests may use Node.)
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';

const dir = new URL('./', import.meta.url);

test('library sources import only zod, yaml and themselves, and use no Node globals', () => {
  const sources = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
  assert.ok(sources.length >= 10);
  for (const file of sources) {
    const text = readFileSync(new URL(file, dir), 'utf8');
    for (const m of text.matchAll(/\bfrom\s+'([^']+)'/g)) {
      const spec = m[1] ?? '';
      assert.ok(spec === 'zod' || spec === 'yaml' || spec.startsWith('./'), `${file} imports ${spec}`);
    }
    assert.doesNotMatch(text, /\b(process|Buffer|require|__dirname)\b[.(]/, file);
    assert.doesNotMatch(text, /\bimport\(/, file);
  }
});
