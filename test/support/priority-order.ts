/** When a priority run's jobs finished, read from their rows: how the urgent ones did against the backlog. */
export interface PriorityOrder {
  /** Sorted ms after the first job started, per urgent job. */
  urgentWaits: number[];
  /** When the last urgent job finished, and the last backlog job (ms after the first start). */
  urgentDone: number;
  backlogDone: number;
  /** Backlog jobs that finished before the last urgent one. */
  backlogBeforeLastUrgent: number;
}

export function priorityOrder(rows: { id: string; started_at: Date | null; finished_at: Date | null }[], urgentIds: string[]): PriorityOrder {
  const isUrgent = new Set(urgentIds);
  const t0 = Math.min(...rows.map((j) => j.started_at!.getTime()));
  const waits = (pick: (id: string) => boolean) =>
    rows
      .filter((j) => pick(j.id))
      .map((j) => j.finished_at!.getTime() - t0)
      .sort((a, b) => a - b);
  const urgentWaits = waits((id) => isUrgent.has(id));
  const backlogWaits = waits((id) => !isUrgent.has(id));
  const urgentDone = urgentWaits[urgentWaits.length - 1];
  const backlogDone = backlogWaits[backlogWaits.length - 1];
  return { urgentWaits, urgentDone, backlogDone, backlogBeforeLastUrgent: backlogWaits.filter((w) => w < urgentDone).length };
}
