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

/**
 * The RabbitMQ cluster operator's RabbitmqCluster has no model package: checked here on the fields we set (the
 * operator's CRD has many more; kubectl apply --dry-run=server checks the rest against a real cluster).
 */
export function validateRabbitmqCluster(obj) {
  const errors = [];
  const spec = obj.spec ?? {};
  if (typeof obj.metadata?.name !== 'string' || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(obj.metadata.name)) errors.push('metadata/name must be a DNS label');
  if (!Number.isInteger(spec.replicas) || spec.replicas < 1) errors.push('spec/replicas must be a positive integer');
  if (spec.image !== undefined && typeof spec.image !== 'string') errors.push('spec/image must be string');
  for (const key of ['additionalConfig', 'advancedConfig', 'envConfig']) {
    if (spec.rabbitmq?.[key] !== undefined && typeof spec.rabbitmq[key] !== 'string') errors.push(`spec/rabbitmq/${key} must be string`);
  }
  if (
    spec.rabbitmq?.additionalPlugins !== undefined &&
    !(Array.isArray(spec.rabbitmq.additionalPlugins) && spec.rabbitmq.additionalPlugins.every((p) => typeof p === 'string'))
  ) {
    errors.push('spec/rabbitmq/additionalPlugins must be an array of strings');
  }
  if (spec.persistence?.storage !== undefined && !/^\d+(\.\d+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$/.test(String(spec.persistence.storage)))
    errors.push('spec/persistence/storage must be a quantity');
  for (const part of ['requests', 'limits']) {
    for (const [k, v] of Object.entries(spec.resources?.[part] ?? {})) {
      if (!['cpu', 'memory'].includes(k) || !/^\d+(\.\d+)?(m|Ki|Mi|Gi|k|M|G)?$/.test(String(v)))
        errors.push(`spec/resources/${part}/${k} must be a cpu or memory quantity`);
    }
  }
  if (errors.length) throw new Error(errors.join('; '));
}

/** apiVersion → module path prefix of its models. */
function modulePath(apiVersion, kind) {
  if (apiVersion.startsWith('keda.sh/')) return `@kubernetes-models/keda/${apiVersion}/${kind}`;
  return `kubernetes-models/${apiVersion}/${kind}`;
}

export async function validateAll() {
  const results = [];
  for (const file of readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()) {
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
      if (apiVersion === 'rabbitmq.com/v1beta1' && kind === 'RabbitmqCluster') {
        try {
          validateRabbitmqCluster(obj);
          results.push({ file, kind, name, ok: true });
        } catch (e) {
          results.push({ file, kind, name, ok: false, error: e.message });
        }
        continue;
      }
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
