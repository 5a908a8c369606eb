/** What an upload reports as it goes. Byte and part counts only grow; they reach the totals on success. */
export interface UploadProgress {
  sessionId: string | null;
  filename: string;
  /** `hashing`: the file is being read to compute its SHA-256 (skipExisting); `uploading`: its bytes are being sent. */
  phase: 'hashing' | 'uploading';
  /** Bytes hashed so far (skipExisting; 0 otherwise). */
  bytesHashed: number;
  bytesUploaded: number;
  totalBytes: number;
  /** 0..100, one decimal. */
  percent: number;
  partsUploaded: number;
  totalParts: number;
  /** Bytes per second over the last few seconds of this run (resumed bytes don't count). */
  bytesPerSecond: number;
  /** Seconds left at the current rate; null until there is a rate. */
  etaSeconds: number | null;
  elapsedMs: number;
}

const WINDOW_MS = 5_000;

/** Counts confirmed bytes (a part counts once the store acknowledged it), so progress never goes back. */
export class ProgressMeter {
  private bytes = 0;
  private parts = 0;
  private phase: UploadProgress['phase'] = 'uploading';
  private hashedBytes = 0;
  private readonly started: number;
  private samples: { t: number; bytes: number }[] = [];

  constructor(
    private readonly filename: string,
    private readonly totalBytes: number,
    private totalParts: number,
    private readonly sink: ((p: UploadProgress) => void) | undefined,
    private readonly now: () => number = Date.now,
    public sessionId: string | null = null,
  ) {
    this.started = now();
    this.samples.push({ t: this.started, bytes: 0 });
  }

  /** Bytes and parts the store held before this run (resume): counted, but not in the rate. */
  alreadyHeld(bytes: number, parts: number, totalParts = this.totalParts): void {
    this.totalParts = totalParts;
    this.bytes += bytes;
    this.parts += parts;
    this.samples = this.samples.map((s) => ({ ...s, bytes: s.bytes + bytes }));
    this.emit();
  }

  /** Hashing (before any byte is sent): `bytes` of the file read so far. */
  hashing(bytes: number): void {
    this.phase = 'hashing';
    this.hashedBytes = bytes;
    this.emit();
  }

  /** Hashing is over (the next snapshots are of the upload). */
  hashed(): void {
    this.phase = 'uploading';
  }

  add(bytes: number, parts = 1): void {
    this.bytes = Math.min(this.totalBytes, this.bytes + bytes);
    this.parts = Math.min(this.totalParts, this.parts + parts);
    const t = this.now();
    this.samples.push({ t, bytes: this.bytes });
    while (this.samples.length > 2 && this.samples[1].t < t - WINDOW_MS) this.samples.shift();
    this.emit();
  }

  snapshot(): UploadProgress {
    const t = this.now();
    const first = this.samples[0];
    const span = (t - first.t) / 1000;
    const rate = span > 0 ? (this.bytes - first.bytes) / span : 0;
    const left = this.totalBytes - this.bytes;
    return {
      sessionId: this.sessionId,
      filename: this.filename,
      phase: this.phase,
      bytesHashed: this.hashedBytes,
      bytesUploaded: this.bytes,
      totalBytes: this.totalBytes,
      percent: this.totalBytes === 0 ? 100 : Math.floor((this.bytes / this.totalBytes) * 1000) / 10,
      partsUploaded: this.parts,
      totalParts: this.totalParts,
      bytesPerSecond: Math.round(rate),
      etaSeconds: left === 0 ? 0 : rate > 0 ? Math.ceil(left / rate) : null,
      elapsedMs: t - this.started,
    };
  }

  emit(): void {
    this.sink?.(this.snapshot());
  }
}
