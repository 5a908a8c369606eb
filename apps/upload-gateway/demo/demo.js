// The demo page: Uppy's Dashboard and S3 plugin against this gateway. The gateway set an HttpOnly
// upload_token cookie when it served the page; same-origin requests (Uppy's /s3/* calls and the status
// polls below) carry it, which is how an anonymous page owns the sessions it creates.
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
    tr.innerHTML = '<td class="name"></td><td class="progress">0%</td><td class="session"></td><td class="status" data-status="">waiting</td>';
    tr.querySelector('.name').textContent = file.name;
    document.getElementById('sessions').appendChild(tr);
    r = tr;
    rows.set(file.id, r);
  }
  return r;
}

async function followSession(tr, sessionId) {
  tr.querySelector('.session').textContent = sessionId;
  tr.dataset.sessionId = sessionId;
  for (let i = 0; i < 600; i++) {
    const res = await fetch(`/v1/uploads/${sessionId}`);
    const cell = tr.querySelector('.status');
    if (res.ok) {
      const s = await res.json();
      cell.dataset.status = s.status;
      cell.textContent = s.error ? `${s.status} (${s.error})` : s.status;
      if (FINAL.has(s.status)) return;
    } else {
      cell.textContent = `HTTP ${res.status}`;
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
  if (sessionId) void followSession(tr, sessionId);
  else tr.querySelector('.status').textContent = `no session in key ${response.body?.key}`;
});
uppy.on('upload-error', (file, error) => {
  const cell = row(file).querySelector('.status');
  cell.dataset.status = 'ERROR';
  cell.textContent = `upload error: ${error.message}`;
});

window.uppy = uppy;
