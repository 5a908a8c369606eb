// The demo page: Uppy's Dashboard and S3 plugin against this gateway. The gateway set an HttpOnly
// upload_token cookie when it served the page; same-origin requests (Uppy's /s3/* calls and the event
// streams below) carry it, which is how an anonymous page owns the sessions it creates.
import { AwsS3, Dashboard, Uppy } from '/demo/uppy.js';

const config = await (await fetch('/demo/config.json')).json();
document.getElementById('threshold').textContent = `${(config.multipartThreshold / 1024 ** 2).toFixed(0)} MiB`;

const FINAL = new Set(['COMPLETED', 'FAILED', 'DELETED']);
const rows = new Map();

function row(file) {
  let r = rows.get(file.id);
  if (!r) {
    const tr = document.createElement('tr');
    tr.dataset.fileName = file.name;
    tr.innerHTML =
      '<td class="name"></td><td class="progress">0%</td><td class="session"></td><td class="status" data-status="">waiting</td><td class="jobs"></td>';
    tr.querySelector('.name').textContent = file.name;
    document.getElementById('sessions').appendChild(tr);
    r = tr;
    rows.set(file.id, r);
  }
  return r;
}

function showStatus(tr, status, error) {
  const cell = tr.querySelector('.status');
  cell.dataset.status = status;
  cell.textContent = error ? `${status} (${error})` : status;
  // Every state the page showed, in order (the browser test reads it).
  tr.dataset.history = [...(tr.dataset.history ? tr.dataset.history.split(' ') : []), status].join(' ');
}

function showJobs(tr, jobs) {
  tr.querySelector('.jobs').textContent = [...jobs.values()].map((j) => `${j.type}: ${j.status}`).join(', ');
}

// A browser opens at most 6 connections to an origin over HTTP/1.1, and Uppy needs some: a few streams at once,
// the others wait their turn (a stream ends with its session's final state, usually within seconds).
const MAX_STREAMS = 3;
let streaming = 0;
const queued = [];

function followSession(tr, sessionId) {
  tr.querySelector('.session').textContent = sessionId;
  tr.dataset.sessionId = sessionId;
  if (streaming >= MAX_STREAMS) queued.push(() => streamSession(tr, sessionId));
  else streamSession(tr, sessionId);
}

function streamDone() {
  streaming--;
  queued.shift()?.();
}

/**
 * Follows a session live: the gateway's event stream (GET /v1/uploads/:id/events) starts with a snapshot of the
 * session, then sends each of its events, and ends after the final one. EventSource reconnects by itself if the
 * connection drops (and gets a fresh snapshot); the page closes it at the final state. Where the stream cannot
 * be opened at all, the page polls instead.
 */
function streamSession(tr, sessionId) {
  streaming++;
  const jobs = new Map();
  let closed = false;
  const events = new EventSource(`/v1/uploads/${sessionId}/events`);
  const close = () => {
    if (closed) return;
    closed = true;
    events.close();
    streamDone();
  };
  events.addEventListener('snapshot', (e) => {
    tr.dataset.via = 'stream';
    const s = JSON.parse(e.data);
    jobs.clear();
    for (const j of s.jobs ?? []) jobs.set(j.id, { type: j.type, status: j.status });
    showJobs(tr, jobs);
    showStatus(tr, s.status, s.error);
    if (FINAL.has(s.status)) close();
  });
  const onSession = (e) => {
    const { data } = JSON.parse(e.data);
    showStatus(tr, data.status, data.error);
    if (FINAL.has(data.status)) close();
  };
  const onJob = (e) => {
    const { data } = JSON.parse(e.data);
    jobs.set(data.jobId, { type: data.type, status: data.status });
    showJobs(tr, jobs);
  };
  for (const type of ['session.uploaded', 'session.processing', 'session.completed', 'session.failed', 'session.deleted'])
    events.addEventListener(type, onSession);
  for (const type of ['job.completed', 'job.failed']) events.addEventListener(type, onJob);
  events.onerror = () => {
    // A dropped connection is retried by EventSource itself (a fresh snapshot follows). Refused (an HTTP error):
    // it gives up; poll instead.
    if (events.readyState === EventSource.CLOSED && !closed) {
      close();
      if (!FINAL.has(tr.querySelector('.status').dataset.status)) void pollSession(tr, sessionId);
    }
  };
}

async function pollSession(tr, sessionId) {
  tr.dataset.via = 'polling';
  for (let i = 0; i < 600; i++) {
    const res = await fetch(`/v1/uploads/${sessionId}`);
    if (res.ok) {
      const s = await res.json();
      showStatus(tr, s.status, s.error);
      if (FINAL.has(s.status)) return;
    } else {
      tr.querySelector('.status').textContent = `HTTP ${res.status}`;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

const uppy = new Uppy({ autoProceed: false, restrictions: { maxFileSize: config.maxFileSize } })
  .use(Dashboard, { inline: true, target: '#uppy', height: 360, proudlyDisplayPoweredByUppy: false })
  .use(AwsS3, { companionEndpoint: window.location.origin, shouldUseMultipart: (file) => (file.size ?? 0) > config.multipartThreshold });

uppy.on('file-added', (file) => row(file));
uppy.on('upload-progress', (file, progress) => {
  const pct = progress.bytesTotal ? Math.floor((100 * progress.bytesUploaded) / progress.bytesTotal) : 0;
  row(file).querySelector('.progress').textContent = `${pct}%`;
});
uppy.on('upload-success', (file, response) => {
  const tr = row(file);
  tr.querySelector('.progress').textContent = '100%';
  // Object keys are uploads/<session id>/<name>.
  const sessionId = /^uploads\/([0-9a-f-]{36})\//.exec(response.body?.key ?? '')?.[1];
  if (sessionId) followSession(tr, sessionId);
  else tr.querySelector('.status').textContent = `no session in key ${response.body?.key}`;
});
uppy.on('upload-error', (file, error) => {
  const cell = row(file).querySelector('.status');
  cell.dataset.status = 'ERROR';
  cell.textContent = `upload error: ${error.message}`;
});

window.uppy = uppy;
