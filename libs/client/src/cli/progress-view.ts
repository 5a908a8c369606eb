import cliProgress from 'cli-progress';
import { UploadProgress } from '../progress';
import { humanBytes, humanSeconds } from './format';

const FORMAT = '{name} |{bar}| {percentage}% {done}/{size} parts {parts} {rate}/s ETA {left}';

/** One bar per file and one for everything, on stderr, when it is a terminal; silent otherwise. */
export class ProgressView {
  private readonly multi: cliProgress.MultiBar | null;
  private readonly bars = new Map<string, cliProgress.SingleBar>();
  private readonly files = new Map<string, UploadProgress>();
  private overall: cliProgress.SingleBar | null = null;
  private readonly started = Date.now();

  constructor(
    enabled: boolean,
    private readonly totalBytes: number,
    private readonly nameWidth: number,
  ) {
    this.multi = enabled
      ? new cliProgress.MultiBar(
          { format: FORMAT, hideCursor: true, clearOnComplete: false, stopOnComplete: false, barsize: 24, autopadding: true, fps: 10, stream: process.stderr },
          cliProgress.Presets.shades_classic,
        )
      : null;
  }

  private readonly pending: { key: string; name: string; size: number }[] = [];

  /** Registers a file (in the order bars should appear); bars show once the first bytes are on their way. */
  add(key: string, name: string, size: number): void {
    this.pending.push({ key, name, size });
  }

  update(key: string, p: UploadProgress): void {
    this.files.set(key, p);
    if (!this.multi) return;
    if (this.bars.size === 0) {
      for (const f of this.pending) this.bars.set(f.key, this.multi.create(f.size, 0, this.payload(f.name, 0, f.size, '0/?', 0, null)));
      if (this.bars.size > 1) this.overall = this.multi.create(this.totalBytes, 0, this.payload('overall', 0, this.totalBytes, '', 0, null));
    }
    this.bars
      .get(key)
      ?.update(p.bytesUploaded, this.payload(p.filename, p.bytesUploaded, p.totalBytes, `${p.partsUploaded}/${p.totalParts}`, p.bytesPerSecond, p.etaSeconds));
    if (this.overall) {
      const done = [...this.files.values()].reduce((n, f) => n + f.bytesUploaded, 0);
      const parts = [...this.files.values()].reduce((n, f) => n + f.partsUploaded, 0);
      const totalParts = [...this.files.values()].reduce((n, f) => n + f.totalParts, 0);
      const secs = (Date.now() - this.started) / 1000;
      const rate = secs > 0 ? done / secs : 0;
      this.overall.update(
        done,
        this.payload('overall', done, this.totalBytes, `${parts}/${totalParts}`, rate, rate > 0 ? (this.totalBytes - done) / rate : null),
      );
    }
  }

  stop(): void {
    this.multi?.stop();
  }

  /** A line above the bars (or on stderr without them). */
  log(line: string): void {
    if (this.multi) this.multi.log(`${line}\n`);
    else process.stderr.write(`${line}\n`);
  }

  private payload(name: string, done: number, size: number, parts: string, rate: number, eta: number | null) {
    const shown = name.length > this.nameWidth ? `${name.slice(0, this.nameWidth - 1)}…` : name.padEnd(this.nameWidth);
    return {
      name: shown,
      done: humanBytes(done),
      size: humanBytes(size),
      parts,
      rate: humanBytes(Math.round(rate)),
      left: humanSeconds(eta === null ? null : Math.ceil(eta)),
    };
  }
}
