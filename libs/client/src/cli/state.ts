import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** An upload started by this CLI and not finished yet: what a later `upload put` of the same file resumes. */
export interface PendingUpload {
  sessionId: string;
  uploadToken?: string;
  groupId: string | null;
  partSize: number | null;
  server: string;
  path: string;
  size: number;
  mtimeMs: number;
  startedAt: string;
}

interface StateFile {
  /** Anonymous upload tokens by session or group id, so `status`/`get` work later. */
  tokens: Record<string, string>;
  pending: Record<string, PendingUpload>;
  /** Recent sessions (newest last), what `upload ls` shows an anonymous caller. */
  recent: { id: string; server: string; filename: string }[];
}

const RECENT_MAX = 200;

/**
 * The CLI's memory between runs, one JSON file (UPLOAD_STATE_DIR, default ~/.upload-cli). Written
 * synchronously and atomically (write, then rename), so a kill -9 never leaves it half-written. It holds upload
 * tokens (bearer secrets of anonymous uploads): the file is the user's alone (0600, in a 0700 directory).
 */
export class CliState {
  private readonly file: string;
  private data: StateFile;

  constructor(dir = process.env.UPLOAD_STATE_DIR || join(homedir(), '.upload-cli')) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.file = join(dir, 'state.json');
    try {
      const parsed = JSON.parse(readFileSync(this.file, 'utf8')) as Partial<StateFile>;
      this.data = { tokens: parsed.tokens ?? {}, pending: parsed.pending ?? {}, recent: parsed.recent ?? [] };
    } catch {
      this.data = { tokens: {}, pending: {}, recent: [] };
    }
  }

  static keyOf(server: string, path: string, size: number, mtimeMs: number): string {
    return `${server}|${path}|${size}|${Math.round(mtimeMs)}`;
  }

  get tokens(): Record<string, string> {
    return { ...this.data.tokens };
  }

  pendingFor(key: string): PendingUpload | undefined {
    return this.data.pending[key];
  }

  recent(server: string): { id: string; filename: string }[] {
    return this.data.recent.filter((r) => r.server === server);
  }

  remember(p: PendingUpload, key: string, filename: string): void {
    this.data.pending[key] = p;
    if (p.uploadToken) this.data.tokens[p.sessionId] = p.uploadToken;
    if (p.groupId && p.uploadToken) this.data.tokens[p.groupId] = p.uploadToken;
    this.data.recent = [...this.data.recent.filter((r) => r.id !== p.sessionId), { id: p.sessionId, server: p.server, filename }].slice(-RECENT_MAX);
    this.save();
  }

  rememberToken(id: string, token: string | undefined): void {
    if (!token) return;
    this.data.tokens[id] = token;
    this.save();
  }

  forget(key: string): void {
    if (!(key in this.data.pending)) return;
    delete this.data.pending[key];
    this.save();
  }

  private save(): void {
    const tmp = `${this.file}.${process.pid}.tmp`;
    // mode applies to the new file only: the rename then replaces a state file an older CLI left readable.
    writeFileSync(tmp, JSON.stringify(this.data, null, 1), { mode: 0o600 });
    renameSync(tmp, this.file);
  }
}
