import { RunningApp, startApp, stopApp } from '../support/apps';
import { GATEWAY_URL, PORT_BASE } from '../support/test-env';

jest.setTimeout(60_000);

const METRICS_PORT = PORT_BASE + 26;

/**
 * Issue 16 (low): the gateway served /metrics on its public API port. With GATEWAY_METRICS_PORT (set in k8s/, with a
 * NetworkPolicy that lets only Prometheus reach it) /metrics is served there and nowhere on the API port.
 */
describe('security: /metrics off the API port (e2e)', () => {
  let gateway: RunningApp;

  beforeAll(async () => {
    gateway = await startApp('upload-gateway', { GATEWAY_METRICS_PORT: String(METRICS_PORT) });
  });
  afterAll(async () => {
    await stopApp(gateway);
  });

  it('the API port answers /metrics with a 404; the metrics port serves the scrape and nothing else', async () => {
    const onApi = await fetch(`${GATEWAY_URL}/metrics`);
    expect(onApi.status).toBe(404);
    expect(await onApi.text()).not.toContain('# HELP');
    // The API itself is there.
    expect((await fetch(`${GATEWAY_URL}/health/live`)).status).toBe(200);

    const scrape = await fetch(`http://127.0.0.1:${METRICS_PORT}/metrics`);
    expect(scrape.status).toBe(200);
    expect(scrape.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await scrape.text()).toMatch(/# HELP http_requests_total|# HELP process_cpu/);
    const other = await fetch(`http://127.0.0.1:${METRICS_PORT}/v1/uploads`);
    expect(other.status).toBe(404);
    await other.arrayBuffer();
  });
});
