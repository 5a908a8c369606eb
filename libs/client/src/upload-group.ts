import { Gateway } from './gateway';
import { UploadProgress } from './progress';
import { guessContentType, ResolvedSource, resolveSource, UploadSource } from './source';
import { CreatedUpload, Group, JobRequest, UploadRequest } from './types';
import { sendCreated, SendOptions, UploadResult } from './upload-file';

export interface GroupFile {
  source: UploadSource;
  filename?: string;
  contentType?: string;
  /** Required for streams. */
  size?: number;
  checksumSha256?: string;
  /** "reuse" (with checksumSha256): a file you already hold is copied server-side instead of sent. */
  ifExists?: 'upload' | 'reuse';
  partSize?: number;
  jobs?: JobRequest[];
  metadata?: Record<string, string>;
}

/** The whole group's progress, and each file's. */
export interface GroupProgress {
  groupId: string;
  bytesUploaded: number;
  totalBytes: number;
  percent: number;
  filesUploaded: number;
  totalFiles: number;
  bytesPerSecond: number;
  etaSeconds: number | null;
  files: UploadProgress[];
}

export interface UploadGroupOptions extends Omit<SendOptions, 'onProgress' | 'onSession'> {
  name: string;
  description?: string;
  /** Seconds the group has to receive all its files (the server's default and maximum apply). */
  expiresInSeconds?: number;
  /** Jobs for every file that names none. */
  jobs?: JobRequest[];
  /** Files sent at once (each with `concurrency` parts in flight). Default 2. */
  fileConcurrency?: number;
  onProgress?: (p: GroupProgress) => void;
  /** Called once the group and its sessions exist, before any byte is sent. */
  onGroup?: (g: Group, uploads: CreatedUpload[]) => void | Promise<void>;
}

export type GroupFileResult =
  { filename: string; sessionId: string; ok: true; result: UploadResult } | { filename: string; sessionId: string | null; ok: false; error: Error };

export interface GroupUploadResult {
  group: Group;
  files: GroupFileResult[];
  /** Files that failed to upload (their error is in `files`). */
  failed: number;
}

/**
 * Uploads files as one group: creates the group with all its sessions in one call, then sends the files
 * (a few at a time). A file that fails does not stop the others; the result says which failed.
 */
export async function uploadGroupWith(gateway: Gateway, files: GroupFile[], options: UploadGroupOptions): Promise<GroupUploadResult> {
  if (files.length === 0) throw new TypeError('a group needs at least one file');
  const sources: ResolvedSource[] = await Promise.all(files.map((f) => resolveSource(f.source, f.size)));
  const requests: UploadRequest[] = files.map((f, i) => {
    const filename = f.filename ?? sources[i].name;
    if (!filename) throw new TypeError(`file ${i + 1}: filename is required for a Buffer, an unnamed Blob or a stream`);
    const jobs = f.jobs ?? options.jobs;
    return {
      filename,
      contentType: f.contentType ?? sources[i].contentType ?? guessContentType(filename),
      size: sources[i].size,
      ...(f.checksumSha256 ? { checksumSha256: f.checksumSha256 } : {}),
      ...(f.ifExists ? { ifExists: f.ifExists } : {}),
      ...(f.partSize ? { partSize: f.partSize } : {}),
      ...(jobs ? { jobs } : {}),
      ...(f.metadata ? { metadata: f.metadata } : {}),
    };
  });
  const created = await gateway.createGroup(
    { name: options.name, description: options.description, totalFiles: files.length, expiresInSeconds: options.expiresInSeconds, files: requests },
    options.signal,
  );
  // A gateway that creates the group without its files: add them one by one.
  const uploads = created.uploads?.length === files.length ? created.uploads : await addOneByOne(gateway, created.id, requests, options.signal);
  await options.onGroup?.(created, uploads);

  const perFile: UploadProgress[] = uploads.map((u, i) => ({
    sessionId: u.id,
    filename: u.filename,
    phase: 'uploading',
    bytesHashed: 0,
    bytesUploaded: 0,
    totalBytes: sources[i].size,
    percent: 0,
    partsUploaded: 0,
    totalParts: u.upload.strategy === 'MULTIPART' ? u.upload.totalParts : 1,
    bytesPerSecond: 0,
    etaSeconds: null,
    elapsedMs: 0,
  }));
  const totalBytes = sources.reduce((n, s) => n + s.size, 0);
  const started = Date.now();
  const emit = () => {
    const bytes = perFile.reduce((n, p) => n + p.bytesUploaded, 0);
    const secs = (Date.now() - started) / 1000;
    const rate = secs > 0 ? bytes / secs : 0;
    options.onProgress?.({
      groupId: created.id,
      bytesUploaded: bytes,
      totalBytes,
      percent: totalBytes === 0 ? 100 : Math.floor((bytes / totalBytes) * 1000) / 10,
      filesUploaded: perFile.filter((p) => p.bytesUploaded === p.totalBytes).length,
      totalFiles: files.length,
      bytesPerSecond: Math.round(rate),
      etaSeconds: bytes === totalBytes ? 0 : rate > 0 ? Math.ceil((totalBytes - bytes) / rate) : null,
      files: perFile.map((p) => ({ ...p })),
    });
  };
  emit();

  const results: GroupFileResult[] = new Array(files.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < files.length; i = next++) {
      const u = uploads[i];
      try {
        const result = await sendCreated(gateway, sources[i], u, {
          ...options,
          onProgress: (p) => {
            perFile[i] = p;
            emit();
          },
        });
        results[i] = { filename: u.filename, sessionId: u.id, ok: true, result };
      } catch (error) {
        results[i] = { filename: u.filename, sessionId: u.id, ok: false, error: error as Error };
        if (options.signal?.aborted) throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.fileConcurrency ?? 2, files.length) }, worker));
  return { group: created, files: results, failed: results.filter((r) => !r.ok).length };
}

async function addOneByOne(gateway: Gateway, groupId: string, requests: UploadRequest[], signal?: AbortSignal): Promise<CreatedUpload[]> {
  const out: CreatedUpload[] = [];
  for (const r of requests) out.push(await gateway.createUpload({ ...r, groupId }, signal));
  return out;
}
