#!/usr/bin/env node
// Validates every manifest in k8s/ against the Kubernetes OpenAPI schemas (kubernetes-models) and KEDA's CRD
// schemas (@kubernetes-models/keda), offline: both packages ship compiled validators, nothing is fetched.
// Prints one JSON line per document; exits 1 when any is invalid or of a kind we have no schema for.
//   npm run k8s:validate
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = join(root, 'k8s');

/** apiVersion → module path prefix of its models. */
function modulePath(apiVersion, kind) {
  if (apiVersion.startsWith('keda.sh/')) return `@kubernetes-models/keda/${apiVersion}/${kind}`;
  return `kubernetes-models/${apiVersion}/${kind}`;
}

export async function validateAll() {
  const results = [];
  for (const file of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    if (file === 'kustomization.yaml') continue; // kustomize's own format, checked by the test
    const docs = parseAllDocuments(readFileSync(join(dir, file), 'utf8'));
    for (const doc of docs) {
      if (doc.errors.length) {
        results.push({ file, ok: false, error: doc.errors.map((e) => e.message).join('; ') });
        continue;
      }
      const obj = doc.toJS();
      if (!obj) continue;
      const { apiVersion, kind } = obj;
      const name = obj.metadata?.name;
      let Model;
      try {
        Model = (await import(modulePath(String(apiVersion), String(kind))))[kind];
      } catch {
        results.push({ file, kind, name, ok: false, error: `no schema for ${apiVersion} ${kind}` });
        continue;
      }
      try {
        new Model(obj).validate();
        results.push({ file, kind, name, ok: true });
      } catch (e) {
        results.push({ file, kind, name, ok: false, error: e.message });
      }
    }
  }
  return results;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const results = await validateAll();
  for (const r of results) console.log(JSON.stringify(r));
  process.exit(results.every((r) => r.ok) ? 0 : 1);
}
