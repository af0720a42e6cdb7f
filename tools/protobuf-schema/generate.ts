// Reads Kubernetes' generated.proto files (k8s.io/api and k8s.io/apimachinery at one release)
// and writes our compact field table: message -> [[number, jsonName, type, label]].
// Usage: node tools/protobuf-schema/generate.ts API_DIR APIMACHINERY_DIR OUT.json
// where the two directories hold k8s.io/api and k8s.io/apimachinery at the release served
// (v0.32.9 for Kubernetes 1.32); OUT.json is packages/apiserver/src/codec/protobuf/schema.json.
// The inputs are not part of this repository; only the generated table of field numbers is.
import { readFileSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { models } from '@kaas/apiserver/models';

const [apiDir, machineryDir, out] = process.argv.slice(2);
if (!apiDir || !machineryDir || !out) {
  console.error('usage: generate.ts API_DIR APIMACHINERY_DIR OUT.json');
  process.exit(2);
}

function protoFiles(dir: string): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      if (e === '.git' || e === 'testapigroup' || e === 'vendor') continue;
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (e === 'generated.proto') found.push(p);
    }
  };
  walk(dir);
  return found.sort();
}

// Only stable group versions are served; alpha/beta protos are not needed.
const wanted = (rel: string) => !/\/v\d+(alpha|beta)\d+\//.test(`/${rel}`);

type Field = [number, string, string, 'o' | 'r' | 'm' | 'i'];
const messages: Record<string, Field[]> = {};

for (const [root] of [[apiDir], [machineryDir]] as const) {
  for (const file of protoFiles(root)) {
    const rel = relative(root, file);
    if (!wanted(rel)) continue;
    const text = readFileSync(file, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\/\/.*$/gm, '');
    const pkg = /package\s+([\w.]+)\s*;/.exec(text)?.[1];
    if (!pkg) continue;
    const qualify = (t: string) =>
      t.startsWith('.') ? t.slice(1) : /^[a-z]/.test(t) && !t.includes('.') ? t : `${pkg}.${t}`;
    const msgRe = /message\s+(\w+)\s*\{([^{}]*)\}/g;
    let m: RegExpExecArray | null;
    while ((m = msgRe.exec(text))) {
      const name = `${pkg}.${m[1]}`;
      const fields: Field[] = [];
      for (const line of m[2]!.split(';')) {
        const l = line.trim();
        if (!l) continue;
        let f = /^(optional|repeated)\s+([\w.]+)\s+(\w+)\s*=\s*(\d+)/.exec(l);
        if (f) {
          fields.push([Number(f[4]), f[3]!, qualify(f[2]!), f[1] === 'repeated' ? 'r' : 'o']);
          continue;
        }
        f = /^map\s*<\s*string\s*,\s*([\w.]+)\s*>\s+(\w+)\s*=\s*(\d+)/.exec(l);
        if (f) {
          fields.push([Number(f[3]), f[2]!, qualify(f[1]!), 'm']);
          continue;
        }
        if (/^(option|reserved)\b/.test(l)) continue;
        throw new Error(`${rel}: cannot parse field line in ${name}: ${l}`);
      }
      messages[name] = fields;
    }
  }
}

// Go structs embedded with `json:",inline"` are a field of their own in protobuf (Volume's
// volumeSource, Probe's handler, the many localObjectReference fields) but flat in JSON. Find
// them by comparing with the JSON models: a message-typed field the JSON type does not have.
const index = models();
let inline = 0;
for (const [name, fields] of Object.entries(messages)) {
  const model = index.modelByDefinition(`io.k8s.${name.slice('k8s.io.'.length)}`);
  if (!model) continue;
  for (const f of fields) {
    if (f[3] !== 'o' || !messages[f[2]] || model.fields.has(f[1])) continue;
    f[3] = 'i';
    inline++;
  }
}
console.log(`${inline} inline (embedded) fields`);

writeFileSync(
  out,
  JSON.stringify({
    source: 'k8s.io/api and k8s.io/apimachinery generated.proto, release 1.32 (v0.32.9)',
    messages,
  }),
);
console.log(`${Object.keys(messages).length} messages -> ${out}`);
