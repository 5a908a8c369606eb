import { api, putToUrl } from './http';
import { waitFor } from './poll';
import { UploadBuilder } from './builders';

export interface Caller {
  token?: string;
  uploadToken?: string;
}

export interface Created {
  id: string;
  body: any;
  caller: Caller;
}

/** POST /v1/uploads; fails the test unless 201. The caller returned carries the upload token for anonymous use. */
export async function createUpload(upload: UploadBuilder, caller: Caller = {}): Promise<Created> {
  const res = await api('POST', '/v1/uploads', { body: upload.build(), token: caller.token });
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.id, body: res.body, caller: { token: caller.token, uploadToken: res.body.uploadToken } };
}

/** Sends the bytes the way the instructions say (single PUT). Returns the store's HTTP status. */
export async function sendBytes(created: Created, bytes: Buffer, headers?: Record<string, string>): Promise<number> {
  const u = created.body.upload;
  if (u.strategy !== 'SINGLE') throw new Error(`sendBytes handles single uploads; got ${u.strategy}`);
  return putToUrl(u.url, bytes, headers ?? u.headers);
}

export async function getUpload(id: string, caller: Caller): Promise<any> {
  const res = await api('GET', `/v1/uploads/${id}`, caller);
  if (res.status !== 200) throw new Error(`GET /v1/uploads/${id}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Waits until the session reaches one of the statuses (by polling the API, as a client would). */
export async function waitForStatus(id: string, caller: Caller, statuses: string[], timeoutMs = 30_000): Promise<any> {
  return waitFor(
    () => getUpload(id, caller),
    (s) => statuses.includes(s.status),
    { timeoutMs, what: `upload ${id} to be ${statuses.join('|')}` },
  );
}

/** Create, send, wait for a final status. */
export async function uploadToEnd(upload: UploadBuilder, caller: Caller = {}): Promise<any> {
  const created = await createUpload(upload, caller);
  const status = await sendBytes(created, upload.bytes);
  if (status !== 200) throw new Error(`PUT to the store answered ${status}`);
  return waitForStatus(created.id, created.caller, ['COMPLETED', 'FAILED']);
}
