import { Inject, Injectable, Logger } from '@nestjs/common';
import { SQL_DATABASE, SqlDatabase } from '../../ports/sql.port';

export interface PruneDedupeSettings {
  /** How long an applied notification's identity is kept (STORAGE_EVENT_DEDUPE_RETENTION_SECONDS). */
  dedupeRetentionMs: number;
}

export interface PruneDedupeFigures {
  dedupePruned: number;
}

/** Rows deleted per statement: each batch is a short transaction of its own, holding few row locks. */
export const PRUNE_BATCH = 1000;
/** Batches per pass at most: a large backlog (after an upgrade) drains over several passes, never in one long one. */
export const PRUNE_BATCHES_PER_PASS = 20;

/**
 * Keeps the notification dedupe table (processed_storage_event) to what can still be redelivered: identities
 * older than the retention are deleted, oldest first, in small batches (each one statement on the
 * `processed_at` index). A replay inside the retention still finds its row; one arriving later would be applied
 * again, which the lifecycle's compare-and-sets make harmless (a session never moves backwards).
 */
@Injectable()
export class PruneDedupeUseCase {
  private readonly logger = new Logger(PruneDedupeUseCase.name);

  constructor(@Inject(SQL_DATABASE) private readonly db: SqlDatabase) {}

  async execute(settings: PruneDedupeSettings, batch = PRUNE_BATCH): Promise<PruneDedupeFigures> {
    let pruned = 0;
    for (let n = 0; n < PRUNE_BATCHES_PER_PASS; n++) {
      const rows = await this.db.query<{ identity: string }>(
        `delete from processed_storage_event where identity in (
           select identity from processed_storage_event where processed_at < now() - $1 * interval '1 millisecond' order by processed_at limit $2
         ) returning identity`,
        [settings.dedupeRetentionMs, batch],
      );
      pruned += rows.length;
      if (rows.length < batch) break;
    }
    if (pruned > 0) this.logger.log({ msg: 'storage notification identities pruned', rows: pruned });
    return { dedupePruned: pruned };
  }
}
