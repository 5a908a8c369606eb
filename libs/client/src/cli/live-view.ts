import { DomainEvent, Group, LiveEvent, SessionDetails } from '../types';

/**
 * Processing as it happens, one line per change (`photo.png: PROCESSING`, `photo.png: THUMBNAIL COMPLETED`),
 * from a live stream's snapshot and events. A repeated event (delivery is at least once) prints nothing new.
 */
export class LiveView {
  private readonly last = new Map<string, string>();

  constructor(
    private readonly enabled: boolean,
    /** session id → the file's name */
    private readonly names: Map<string, string>,
    private readonly write: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  ) {}

  onEvent(e: LiveEvent<SessionDetails | Group>): void {
    if (!this.enabled) return;
    if (e.kind === 'snapshot') {
      const s = e.snapshot;
      if ('jobs' in s && Array.isArray(s.jobs)) {
        this.show(s.id, 'status', String(s.status));
        for (const j of s.jobs) if (j.id) this.show(s.id, `job ${j.id}`, `${j.type} ${j.status ?? 'PLANNED'}`);
      } else {
        const g = s as Group;
        this.show(g.id, 'group', `group ${g.status} (${g.completedFiles}/${g.totalFiles} completed${g.failedFiles ? `, ${g.failedFiles} failed` : ''})`, true);
      }
      return;
    }
    this.onDomainEvent(e.event);
  }

  private onDomainEvent(e: DomainEvent): void {
    const d = e.data;
    if (e.type.startsWith('group.') && d.groupId) {
      this.show(
        d.groupId,
        'group',
        `group ${d.status} (${d.completedFiles}/${d.totalFiles} completed${d.failedFiles ? `, ${d.failedFiles} failed` : ''})`,
        true,
      );
    } else if (e.type.startsWith('session.') && d.sessionId) {
      if (!this.names.has(d.sessionId) && typeof d.filename === 'string') this.names.set(d.sessionId, d.filename);
      this.show(d.sessionId, 'status', `${d.status}${d.errorMessage ? ` (${d.errorMessage})` : d.error ? ` (${d.error})` : ''}`);
    } else if (e.type.startsWith('job.') && d.sessionId && d.jobId) {
      this.show(d.sessionId, `job ${d.jobId}`, `${d.type} ${d.status}${d.error ? ` (${d.error})` : ''}`);
    }
  }

  private show(id: string, what: string, text: string, bare = false): void {
    const key = `${id} ${what}`;
    if (this.last.get(key) === text) return;
    this.last.set(key, text);
    this.write(bare ? text : `${this.names.get(id) ?? id}: ${text}`);
  }
}
