import { GatewayError } from '../errors';
import { Job } from '../types';

export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export function humanSeconds(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return '--:--';
  const m = Math.floor(s / 60);
  return `${String(m).padStart(2, '0')}:${String(Math.round(s % 60)).padStart(2, '0')}`;
}

/** `VALIDATION:COMPLETED, THUMBNAIL:FAILED(reason)` */
export function jobsSummary(jobs: Job[] | undefined): string {
  if (!jobs?.length) return '-';
  return jobs.map((j) => `${j.type}:${j.status ?? 'PLANNED'}${j.status === 'FAILED' && j.error ? `(${j.error})` : ''}`).join(', ');
}

/** A plain text table with a header row; columns as wide as their widest cell. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** An error as the user should read it: the gateway's message and each field it named. */
export function describeError(e: unknown): string {
  if (e instanceof GatewayError) {
    // Each field the gateway named, unless its message already says it.
    const fields = e.details
      .filter((d) => !e.body.message.includes(`${d.field}: ${d.message}`))
      .map((d) => `\n  ${d.field}: ${d.message}`)
      .join('');
    return `${e.body.message} [HTTP ${e.statusCode}${e.code ? ` ${e.code}` : ''}]${fields}`;
  }
  return e instanceof Error ? e.message : String(e);
}
