import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { getMetadataStorage } from 'class-validator';
import { parse, parseAllDocuments } from 'yaml';
import { GatewayEnv, JobProcessorEnv, StorageEventsEnv, validateEnv } from '@app/config';
import { JOB_TYPES, jobQueuesOf, QueueMode } from '@app/contracts';

const ROOT = join(__dirname, '..', '..');
const run = promisify(execFile);

type Env = Record<string, string>;
type Obj = Record<string, any>;

const APPS = {
  'upload-gateway': { envClass: GatewayEnv, portVar: 'GATEWAY_PORT' },
  'storage-events': { envClass: StorageEventsEnv, portVar: 'STORAGE_EVENTS_PORT' },
  'job-processor': { envClass: JobProcessorEnv, portVar: 'JOB_PROCESSOR_PORT' },
} as const;
type AppName = keyof typeof APPS;

/** Every variable an env class reads (from its class-validator metadata). */
function variablesOf(cls: new () => object): Set<string> {
  return new Set(
    getMetadataStorage()
      .getTargetValidationMetadatas(cls, '', true, false)
      .map((m) => m.propertyName),
  );
}
const KNOWN = new Set([...Object.values(APPS).flatMap((a) => [...variablesOf(a.envClass)]), 'APP']);

function k8sDocs(): { file: string; doc: Obj }[] {
  return readdirSync(join(ROOT, 'k8s'))
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .flatMap((file) => parseAllDocuments(readFileSync(join(ROOT, 'k8s', file), 'utf8')).map((d) => ({ file, doc: d.toJS() as Obj })))
    .filter((d) => d.doc);
}

describe('k8s/ manifests', () => {
  const docs = k8sDocs();
  const kustomization = parse(readFileSync(join(ROOT, 'k8s/kustomization.yaml'), 'utf8')) as { resources: string[] };
  const applied = docs.filter((d) => kustomization.resources.includes(d.file)).map((d) => d.doc);
  const find = (kind: string, name: string) => applied.find((d) => d.kind === kind && d.metadata.name === name);

  it('every document is valid against the Kubernetes and KEDA schemas (offline, kubernetes-models)', async () => {
    const { stdout } = await run(process.execPath, [join(ROOT, 'scripts/k8s/validate.mjs')], { cwd: ROOT }).catch((e: { stdout: string }) => ({
      stdout: e.stdout,
    }));
    const results = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { file: string; kind: string; name: string; ok: boolean; error?: string });
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results).toHaveLength(docs.length);
    // Loading the compiled validators takes 5-8 s on a loaded 2-core machine.
  }, 30_000);

  it('the schema check catches a broken RabbitmqCluster (our own check of the fields we set)', async () => {
    const script = `
      import { validateRabbitmqCluster } from './scripts/k8s/validate.mjs';
      try { validateRabbitmqCluster({ metadata: { name: 'rabbitmq' }, spec: { replicas: 'three', rabbitmq: { additionalConfig: 1 } } }); console.log('accepted'); }
      catch (e) { console.log(e.message); }`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT });
    expect(stdout).toMatch(/spec\/replicas must be a positive integer; spec\/rabbitmq\/additionalConfig must be string/);
  });

  it('the schema check catches a broken manifest', async () => {
    const script = `
      import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
      try { new Deployment({ metadata: { name: 'x' }, spec: { replicas: 'two', selector: {}, template: { spec: { containers: [{ name: 'a' }] } } } }).validate(); console.log('accepted'); }
      catch (e) { console.log(e.message); }`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT });
    expect(stdout).toMatch(/spec\/replicas must be integer/);
  });

  it('kustomization lists files that exist; job-processors.yaml is what its generator makes', async () => {
    for (const r of kustomization.resources) expect(existsSync(join(ROOT, 'k8s', r))).toBe(true);
    const script = `import { generate } from './scripts/k8s/job-processors.mjs'; process.stdout.write(generate());`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT });
    expect(stdout).toBe(readFileSync(join(ROOT, 'k8s/job-processors.yaml'), 'utf8'));
  });

  it('each job type has its processors, scaled by KEDA on its own queue, with a disruption budget', () => {
    for (const type of JOB_TYPES) {
      const name = `job-processor-${type.toLowerCase()}`;
      const deployment = find('Deployment', name);
      expect(deployment?.spec.template.spec.containers[0].env).toContainEqual({ name: 'JOB_TYPES', value: type });
      const scaled = find('ScaledObject', name);
      const mode = (find('ConfigMap', 'upload-platform-config')!.data as Env).AMQP_QUEUE_MODE as QueueMode;
      // Its queues in the configured mode: one (classic), or each priority band (quorum).
      expect(scaled?.spec).toMatchObject({
        scaleTargetRef: { name },
        triggers: jobQueuesOf(type, mode).map((queueName) => ({ type: 'rabbitmq', metadata: { queueName, mode: 'QueueLength' } })),
      });
      expect(find('TriggerAuthentication', scaled!.spec.triggers[0].authenticationRef.name)).toBeDefined();
      expect(find('PodDisruptionBudget', name)?.spec.selector.matchLabels).toEqual(deployment!.spec.selector.matchLabels);
    }
    const selectors = applied.filter((d) => d.kind === 'Deployment').map((d) => JSON.stringify(d.spec.selector.matchLabels));
    expect(new Set(selectors).size).toBe(selectors.length);
  });

  it("the cluster mode: quorum queues on a 3-node RabbitmqCluster (the operator's), one node may be lost", () => {
    const config = find('ConfigMap', 'upload-platform-config')!.data as Env;
    expect(config.AMQP_QUEUE_MODE).toBe('quorum');
    const broker = find('RabbitmqCluster', 'rabbitmq');
    expect(broker?.spec.replicas).toBe(3);
    expect(broker?.spec.rabbitmq.additionalConfig).toMatch(/cluster_partition_handling = pause_minority/);
    const secret = find('Secret', 'upload-platform-secrets')!.stringData as Env;
    expect(new URL(secret.AMQP_URL).hostname).toBe(`${broker!.metadata.name}.${broker!.metadata.namespace}.svc.cluster.local`);
  });

  it('the gateway has an HPA; every Deployment has probes, resources, a grace period longer than its drain, and a PDB or ScaledObject', () => {
    expect(find('HorizontalPodAutoscaler', 'upload-gateway')?.spec.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: 'upload-gateway',
    });
    const config = find('ConfigMap', 'upload-platform-config')!.data as Env;
    for (const d of applied.filter((x) => x.kind === 'Deployment')) {
      const pod = d.spec.template.spec;
      const c = pod.containers[0];
      expect({ name: d.metadata.name, live: c.livenessProbe?.httpGet?.path, ready: c.readinessProbe?.httpGet?.path }).toEqual({
        name: d.metadata.name,
        live: '/health/live',
        ready: '/health/ready',
      });
      expect(c.resources?.requests && c.resources?.limits).toBeTruthy();
      const drain = Number(c.env?.find((e: Env) => e.name === 'SHUTDOWN_TIMEOUT_SECONDS')?.value ?? config.SHUTDOWN_TIMEOUT_SECONDS);
      expect({ name: d.metadata.name, graceLongerThanDrain: pod.terminationGracePeriodSeconds > drain }).toEqual({
        name: d.metadata.name,
        graceLongerThanDrain: true,
      });
      const budgeted = applied.some(
        (p) => p.kind === 'PodDisruptionBudget' && Object.entries(p.spec.selector.matchLabels).every(([k, v]) => d.spec.template.metadata.labels[k] === v),
      );
      expect({ name: d.metadata.name, budgeted }).toEqual({ name: d.metadata.name, budgeted: true });
    }
    for (const app of Object.keys(APPS)) expect(applied.some((d) => d.kind === 'Service' && d.spec.selector['app.kubernetes.io/name'] === app)).toBe(true);
  });

  it("migrations run as a Job of their own, with the apps' settings; no app migrates", () => {
    const job = docs.find((d) => d.doc.kind === 'Job')!.doc;
    expect(job.spec.template.spec.containers[0].command.join(' ')).toMatch(/migrate/);
    for (const d of applied.filter((x) => x.kind === 'Deployment'))
      expect(JSON.stringify(d.spec.template.spec.containers[0].command ?? [])).not.toMatch(/migrate/);
  });

  it("ConfigMap + Secret + each Deployment's env pass the app's own env validation, and name only variables the apps read", () => {
    const config = find('ConfigMap', 'upload-platform-config')!.data as Env;
    // The template's placeholders stand for real values of the right shape (random ones: secrets are checked for strength).
    const secret = Object.fromEntries(
      Object.entries(find('Secret', 'upload-platform-secrets')!.stringData as Env).map(([k, v]) => [
        k,
        String(v).replace(/REPLACE_ME/g, () => randomBytes(24).toString('base64url')),
      ]),
    );
    for (const key of [...Object.keys(config), ...Object.keys(secret)]) expect({ key, known: KNOWN.has(key) }).toEqual({ key, known: true });
    for (const d of applied.filter((x) => x.kind === 'Deployment')) {
      const c = d.spec.template.spec.containers[0];
      const own = Object.fromEntries((c.env ?? []).map((e: Env) => [e.name, e.value]));
      for (const key of Object.keys(own)) expect({ key, known: KNOWN.has(key) }).toEqual({ key, known: true });
      const app = own.APP as AppName;
      expect(Object.keys(APPS)).toContain(app);
      expect(() => validateEnv(APPS[app].envClass as new () => object, { ...config, ...secret, ...own })).not.toThrow();
      expect(c.ports[0].containerPort).toBe(Number({ ...config, ...own }[APPS[app].portVar]));
    }
  });
});

describe('docker-compose.yml', () => {
  const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Obj> };
  const s = compose.services;

  it('names every service the apps need, and the apps start after migrations and the store setup', () => {
    expect(Object.keys(s)).toEqual(
      expect.arrayContaining(['postgres', 'rabbitmq', 'minio', 'minio-setup', 'migrate', 'upload-gateway', 'storage-events', 'job-processor']),
    );
    expect(s.migrate.command.join(' ')).toBe('npm run migrate');
    for (const app of Object.keys(APPS)) {
      expect(s[app].depends_on).toMatchObject({
        migrate: { condition: 'service_completed_successfully' },
        'minio-setup': { condition: 'service_completed_successfully' },
      });
      expect(s[app].build.args.APP).toBe(app);
    }
  });

  it("each app's environment passes its own validation, names only variables the apps read, and agrees with the services", () => {
    for (const [app, { envClass, portVar }] of Object.entries(APPS)) {
      const env = s[app].environment as Env;
      for (const key of Object.keys(env)) expect({ app, key, known: KNOWN.has(key) }).toEqual({ app, key, known: true });
      expect(() => validateEnv(envClass as new () => object, env)).not.toThrow();
      expect(s[app].healthcheck.test.join(' ')).toContain(`127.0.0.1:${env[portVar]}/health/ready`);
      expect(s[app].ports).toContain(`${env[portVar]}:${env[portVar]}`);

      const minio = s.minio.environment as Env;
      expect([env.S3_ACCESS_KEY, env.S3_SECRET_KEY]).toEqual([minio.MINIO_ROOT_USER, minio.MINIO_ROOT_PASSWORD]);
      expect(minio.MINIO_NOTIFY_AMQP_EXCHANGE_PRIMARY).toBe(env.STORAGE_EVENTS_EXCHANGE);
      expect(minio.MINIO_NOTIFY_AMQP_DURABLE_PRIMARY).toBe('on');
      expect(minio.MINIO_NOTIFY_AMQP_DELIVERY_MODE_PRIMARY).toBe('2');
      expect(minio.MINIO_NOTIFY_AMQP_QUEUE_DIR_PRIMARY).toBeTruthy();
      expect((s['minio-setup'].environment as Env).S3_BUCKET).toBe(env.S3_BUCKET);
      expect(new URL(env.S3_ENDPOINT).hostname).toBe('minio');
      expect(new URL(env.DATABASE_URL).hostname).toBe('postgres');
      expect(new URL(env.AMQP_URL).hostname).toBe('rabbitmq');
    }
    expect(s.migrate.environment).toEqual(s['upload-gateway'].environment);
  });

  it('the store publishes with a broker user of its own that can only publish to the storage events exchange; the apps are not guest (issue 16)', () => {
    const definitions = JSON.parse(readFileSync(join(ROOT, 'compose/rabbitmq-definitions.json'), 'utf8')) as {
      users: { name: string }[];
      permissions: { user: string; vhost: string; configure: string; write: string; read: string }[];
    };
    const storeUser = new URL((s.minio.environment as Env).MINIO_NOTIFY_AMQP_URL_PRIMARY).username;
    const appUser = new URL((s['upload-gateway'].environment as Env).AMQP_URL).username;
    expect(storeUser).not.toBe(appUser);
    expect([storeUser, appUser]).not.toContain('guest');
    expect(definitions.users.map((u) => u.name)).toEqual(expect.arrayContaining([storeUser, appUser]));
    expect(definitions.users.map((u) => u.name)).not.toContain('guest');
    const exchange = (s['upload-gateway'].environment as Env).STORAGE_EVENTS_EXCHANGE;
    const store = definitions.permissions.filter((p) => p.user === storeUser);
    expect(store).toHaveLength(1);
    expect(new RegExp(store[0].write).test(exchange)).toBe(true);
    // Nothing else: no other exchange to write, no queue to read or declare.
    for (const other of ['uploads.events', 'storage-events.notifications', 'amq.default', 'jobs.VALIDATION']) {
      expect(new RegExp(store[0].write).test(other) || new RegExp(store[0].configure).test(other)).toBe(false);
    }
    expect(store[0].read).toBe('^$');
    expect((s.rabbitmq.volumes as string[]).some((v) => v.startsWith('./compose/rabbitmq-definitions.json:'))).toBe(true);
  });
});
