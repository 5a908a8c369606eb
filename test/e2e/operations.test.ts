import { readFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { DomainEventType } from '@app/contracts';
import { anUpload, pngBytes } from '../support/builders';
import { Capture } from '../support/broker';
import { createUpload, sendBytes, waitForStatus } from '../support/flows';
import { logFileOf, RunningApp, System } from '../support/apps';
import { api } from '../support/http';
import { hasMetric, sample, scrape } from '../support/metrics';
import { waitFor } from '../support/poll';
import { GATEWAY_URL, ROOT, testEnv } from '../support/test-env';

jest.setTimeout(90_000);

/**
 * What Nest mounted on the gateway, asked at runtime from the compiled app (initialised in a child process:
 * Jest cannot load jwks-rsa's ESM-only jose): every route on the Express router as `METHOD /path/{param}`
 * (OpenAPI's path style), and the routes whose handler reads a request body (@Body).
 */
async function gatewayRoutes(): Promise<{ served: string[]; withBody: string[] }> {
  const script = `
    const { NestFactory, ModulesContainer } = require('@nestjs/core');
    const { gatewayConfig, GatewayEnv, validateEnv } = require('./dist/libs/config/src');
    const { AppModule } = require('./dist/apps/upload-gateway/src/app.module');
    const BODY = 3; // RouteParamtypes.BODY
    (async () => {
      const app = await NestFactory.create(AppModule.forRoot(gatewayConfig(validateEnv(GatewayEnv, process.env))), { logger: false });
      await app.init();
      // Nest mounts middleware bound to every route (forRoutes('{*path}')) as catch-all routes: those are not endpoints.
      const served = app.getHttpAdapter().getInstance().router.stack.filter((l) => l.route && !l.route.path.includes('{*'))
        .flatMap((l) => Object.keys(l.route.methods).map((m) => m.toUpperCase() + ' ' + l.route.path));
      const withBody = [];
      for (const mod of app.get(ModulesContainer).values()) {
        for (const { metatype } of mod.controllers.values()) {
          const base = Reflect.getMetadata('path', metatype) ?? '';
          for (const key of Object.getOwnPropertyNames(metatype.prototype)) {
            const handler = metatype.prototype[key];
            const path = typeof handler === 'function' ? Reflect.getMetadata('path', handler) : undefined;
            if (path === undefined) continue;
            const args = Reflect.getMetadata('__routeArguments__', metatype, key) ?? {};
            if (!Object.keys(args).some((a) => a.split(':')[0] === String(BODY))) continue;
            const method = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'ALL', 'OPTIONS', 'HEAD'][Reflect.getMetadata('method', handler)];
            withBody.push(method + ' ' + ('/' + base + '/' + path).replace(/\\/+/g, '/').replace(/(.)\\/$/, '$1'));
          }
        }
      }
      process.stdout.write(JSON.stringify({ served, withBody }), () => process.exit(0));
    })().catch((e) => { console.error(e); process.exit(1); });`;
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...testEnv() },
    encoding: 'utf8',
    timeout: 60_000,
  });
  const openApiStyle = (route: string) => route.replace(/:(\w+)/g, '{$1}');
  const routes = JSON.parse(stdout) as { served: string[]; withBody: string[] };
  return { served: routes.served.map(openApiStyle), withBody: routes.withBody.map(openApiStyle) };
}

/**
 * The apps as an operator runs them: probes, Prometheus metrics that move with the traffic, OpenAPI, and
 * JSON logs in which one upload can be followed from the HTTP request to its job.
 */
describe('operations (e2e)', () => {
  let system: System;
  let events: Capture;
  const env = testEnv();
  const app = (name: RunningApp['name']) => system.apps.find((a) => a.name === name)!;

  beforeAll(async () => {
    system = await System.start({ JOB_TYPES: 'VALIDATION' });
    events = await Capture.on(env.DOMAIN_EVENTS_EXCHANGE);
  });

  afterAll(async () => {
    await events?.close();
    await system?.stop();
  });

  it('every app answers /health/live and /health/ready with Postgres, RabbitMQ and S3 up', async () => {
    for (const a of system.apps) {
      const live = await fetch(`http://127.0.0.1:${a.port}/health/live`);
      expect(live.status).toBe(200);
      const ready = await fetch(`http://127.0.0.1:${a.port}/health/ready`);
      expect({ app: a.name, status: ready.status, body: await ready.json() }).toEqual({
        app: a.name,
        status: 200,
        body: expect.objectContaining({
          status: 'ok',
          info: { database: { status: 'up' }, broker: expect.objectContaining({ status: 'up' }), storage: { status: 'up' } },
        }),
      });
    }
    // Readiness names each channel and its state: a consumer the broker stopped is seen, not hidden behind the connection.
    const processor = (await (await fetch(`http://127.0.0.1:${app('job-processor').port}/health/ready`)).json()) as {
      info: { broker: { channels: Record<string, string> } };
    };
    expect(processor.info.broker.channels).toMatchObject({ publisher: 'open', 'consume jobs.validation': 'open' });
  });

  it('metrics move after an upload: HTTP, storage events, jobs; backlog and queue depth are exposed', async () => {
    const [gw0, se0, jp0] = await Promise.all(['upload-gateway', 'storage-events', 'job-processor'].map((n) => scrape(app(n as RunningApp['name']).port)));

    const bytes = pngBytes(4, 4);
    const created = await createUpload(anUpload(bytes).named('metrics.png').ofType('image/png'));
    expect(await sendBytes(created, bytes)).toBe(200);
    expect((await waitForStatus(created.id, created.caller, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');

    // One more read of the session, counted between two scrapes.
    const read = { method: 'GET', route: '/v1/uploads/:id', status_code: '200' };
    const gwBeforeRead = await scrape(app('upload-gateway').port);
    expect((await api('GET', `/v1/uploads/${created.id}`, created.caller)).status).toBe(200);
    const [gw1, se1, jp1] = await Promise.all(['upload-gateway', 'storage-events', 'job-processor'].map((n) => scrape(app(n as RunningApp['name']).port)));
    const created201 = { method: 'POST', route: '/v1/uploads', status_code: '201' };
    expect(sample(gw1, 'http_request_duration_seconds_count', created201) - sample(gw0, 'http_request_duration_seconds_count', created201)).toBe(1);
    expect(sample(gw1, 'http_request_duration_seconds_count', read) - sample(gwBeforeRead, 'http_request_duration_seconds_count', read)).toBe(1);

    // One PUT: one notification message with one record, applied as 'uploaded' and acked.
    expect(sample(se1, 'storage_events_received_total', { transport: 'amqp' }) - sample(se0, 'storage_events_received_total', { transport: 'amqp' })).toBe(1);
    const uploaded = { transport: 'amqp', outcome: 'uploaded' };
    expect(sample(se1, 'storage_events_outcomes_total', uploaded) - sample(se0, 'storage_events_outcomes_total', uploaded)).toBe(1);
    const acked = { queue: 'storage-events.notifications', disposition: 'acked' };
    expect(sample(se1, 'amqp_messages_consumed_total', acked) - sample(se0, 'amqp_messages_consumed_total', acked)).toBe(1);

    const completed = { type: 'VALIDATION', outcome: 'completed' };
    expect(sample(jp1, 'jobs_processed_total', completed) - sample(jp0, 'jobs_processed_total', completed)).toBe(1);
    expect(sample(jp1, 'job_duration_seconds_count', completed) - sample(jp0, 'job_duration_seconds_count', completed)).toBe(1);

    // The backlog is a number, and back to 0 once the upload's messages are published (a failed count would be NaN;
    // the gauge is cached for 5 s, hence the wait).
    for (const text of [gw1, se1, jp1]) expect(hasMetric(text, 'outbox_backlog_messages')).toBe(true);
    for (const n of ['upload-gateway', 'storage-events', 'job-processor'] as const) {
      await waitFor(
        async () => sample(await scrape(app(n).port), 'outbox_backlog_messages'),
        (v) => v === 0,
        { timeoutMs: 15_000, what: `outbox_backlog_messages 0 on ${n}` },
      );
    }
    expect(se1).toMatch(/^rabbitmq_queue_messages_ready\{queue="storage-events.notifications",app="storage-events"\} \d+$/m);
    expect(jp1).toMatch(/^rabbitmq_queue_messages_ready\{queue="jobs.validation",app="job-processor"\} \d+$/m);
    expect(jp1).toMatch(/^process_cpu_seconds_total\{app="job-processor"\} /m);
  });

  it('one upload can be followed in the logs: request id → session id → storage event → job; no secrets logged', async () => {
    const bytes = pngBytes(2, 2);
    const res = await api('POST', '/v1/uploads', {
      body: anUpload(bytes).named('traced.png').ofType('image/png').build(),
      headers: { 'x-request-id': `trace-${Date.now()}` },
    });
    expect(res.status).toBe(201);
    const requestId = res.headers.get('x-request-id')!;
    expect(requestId).toMatch(/^trace-\d+$/);
    const sessionId: string = res.body.id;
    expect(await sendBytes({ id: sessionId, body: res.body, caller: { uploadToken: res.body.uploadToken } }, bytes)).toBe(200);
    await waitForStatus(sessionId, { uploadToken: res.body.uploadToken }, ['COMPLETED']);
    await waitFor(
      async () => events.forSession(sessionId, DomainEventType.SessionCompleted).length,
      (n) => n === 1,
      { what: 'session.completed' },
    );

    const lines = (name: RunningApp['name']) =>
      readFileSync(logFileOf(app(name)), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    // The request's own line names the session it created.
    expect(lines('upload-gateway')).toContainEqual(
      expect.objectContaining({ correlationId: requestId, requestId, msg: expect.stringMatching(/^POST \/v1\/uploads 201 /), sessionId }),
    );
    expect(lines('storage-events')).toContainEqual(expect.objectContaining({ correlationId: sessionId, msg: 'storage event applied', outcome: 'uploaded' }));
    expect(lines('job-processor')).toContainEqual(
      expect.objectContaining({ correlationId: sessionId, msg: 'job finished', type: 'VALIDATION', outcome: 'completed' }),
    );
    // The id rides on the messages themselves, as the AMQP correlation-id property.
    expect(events.forSession(sessionId).map((m) => m.properties.correlationId)).toEqual(expect.arrayContaining([sessionId]));
    expect(events.forSession(sessionId).every((m) => m.properties.correlationId === sessionId)).toBe(true);

    const all = system.apps.map((a) => readFileSync(logFileOf(a), 'utf8')).join('\n');
    expect(all).not.toContain(res.body.uploadToken);
    expect(all).not.toMatch(/X-Amz-Signature|X-Amz-Credential/i);
    expect(all).not.toMatch(/x-upload-token"\s*:\s*"[^[]/i);
  });

  it('/docs-json documents every route the gateway serves, with bodies and errors', async () => {
    const { served, withBody } = await gatewayRoutes();
    const res = await fetch(`${GATEWAY_URL}/docs-json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown>; requestBody?: unknown }>> };
    expect(doc.openapi).toMatch(/^3\./);
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));

    expect(served).toEqual(expect.arrayContaining(['POST /v1/uploads', 'GET /v1/uploads/{id}', 'GET /health/ready', 'GET /metrics']));
    expect(served.filter((r) => !documented.includes(r))).toEqual([]);
    expect(withBody).toEqual(expect.arrayContaining(['POST /v1/uploads', 'POST /v1/groups', 'POST /v1/uploads/{id}/parts']));

    for (const [path, ops] of Object.entries(doc.paths)) {
      if (!path.startsWith('/v1/')) continue;
      for (const [method, op] of Object.entries(ops)) {
        expect({ route: `${method} ${path}`, success: Object.keys(op.responses).some((s) => /^2/.test(s)) }).toEqual({
          route: `${method} ${path}`,
          success: true,
        });
        expect({ route: `${method} ${path}`, errors: Object.keys(op.responses).some((s) => /^[45]/.test(s)) }).toEqual({
          route: `${method} ${path}`,
          errors: true,
        });
        const route = `${method.toUpperCase()} ${path}`;
        if (withBody.includes(route)) expect({ route, body: op.requestBody !== undefined }).toEqual({ route, body: true });
      }
    }
    // Request bodies are documented by the commands that validate them (the Swagger plugin in the build reads their
    // class-validator decorators): every body names its fields, and their rules are the ones enforced.
    type Schema = { $ref?: string; properties?: Record<string, Record<string, unknown>>; required?: string[] };
    const schemas = (doc as unknown as { components: { schemas: Record<string, Schema> } }).components.schemas;
    const bodyOf = (route: string) => {
      const [method, path] = route.split(' ');
      const op = doc.paths[path][method.toLowerCase()] as { requestBody?: { content: Record<string, { schema: Schema }> } };
      const ref = op.requestBody?.content['application/json'].schema.$ref ?? '';
      return schemas[ref.replace('#/components/schemas/', '')];
    };
    for (const route of withBody.filter((r) => r.includes(' /v1/'))) {
      expect({ route, fields: Object.keys(bodyOf(route)?.properties ?? {}).length > 0 }).toEqual({ route, fields: true });
    }
    const create = bodyOf('POST /v1/uploads');
    expect(create.required).toEqual(expect.arrayContaining(['filename', 'contentType', 'size']));
    expect(create.properties).toMatchObject({
      filename: { type: 'string', minLength: 1, maxLength: 255, example: 'photo.png' },
      size: { minimum: 1 },
      checksumSha256: { pattern: '^[A-Za-z0-9+/]{43}=$' },
      groupId: { format: 'uuid' },
      ifExists: { enum: ['upload', 'reuse'], default: 'upload' },
      jobs: { type: 'array', maxItems: 10 },
    });
    expect(bodyOf('POST /v1/uploads/{id}/jobs').properties).toMatchObject({
      type: { allOf: [{ $ref: '#/components/schemas/JobType' }] },
      priority: { minimum: 1, maximum: 10 },
    });
    expect(bodyOf('POST /v1/uploads/check').properties).toMatchObject({ files: { minItems: 1, maxItems: 1000 } });
    expect(bodyOf('POST /v1/groups').properties).toMatchObject({ expiresInSeconds: { minimum: 60 }, files: { type: 'array' } });
    expect(bodyOf('POST /v1/webhooks').properties).toMatchObject({
      url: { maxLength: 2048 },
      events: { minItems: 1, items: { enum: expect.arrayContaining(['*', 'session.completed']) } },
    });

    const ui = await fetch(`${GATEWAY_URL}/docs`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger');
  });
});
