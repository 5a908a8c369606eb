import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { Actor, findAccessibleGroup, FINAL_FILE_STATUSES, FINAL_GROUP_STATUSES, GetUploadGroupUseCase, GetUploadUseCase } from '@app/domain';
import { presentGroup } from '../groups/group.presenter';
import { presentDetails } from '../uploads/upload.presenter';
import { LiveStream, StreamHub } from './stream-hub';
import { callerKeyOf, StreamKind, StreamTickets } from './stream-tickets';

/**
 * A ticket is the grant: ownership was checked when it was minted, for this one resource. Its holder reads
 * that resource as if it were theirs, and nothing else (the ticket names the resource).
 */
const TICKET_HOLDER: Actor = Object.freeze({ userId: null, isAdmin: true, uploadToken: null });

/** A stream ready to start: its snapshot was read after it was subscribed. */
export interface OpenedStream {
  stream: LiveStream;
  snapshot: unknown;
  final: boolean;
}

/** Who may follow what, and the order that loses no event: ownership, then a slot and the subscription, then the snapshot. */
@Injectable()
export class LiveStreams {
  constructor(
    private readonly em: EntityManager,
    private readonly hub: StreamHub,
    private readonly tickets: StreamTickets,
    private readonly getUpload: GetUploadUseCase,
    private readonly getGroup: GetUploadGroupUseCase,
  ) {}

  /**
   * Everything that can refuse a stream happens here, before a byte is written, so refusals are ordinary JSON
   * errors: 401/404 for the ticket or ownership (someone else's is a 404), 429 beyond a limit, 503 without a
   * broker subscription.
   */
  async open(kind: StreamKind, id: string, actor: Actor, ticket: unknown, ip: string | undefined): Promise<OpenedStream> {
    const { reader, caller } =
      ticket === undefined
        ? { reader: actor, caller: callerKeyOf(actor, ip) }
        : { reader: TICKET_HOLDER, caller: this.tickets.verify(String(ticket), kind, id).caller };
    await this.findAccessible(kind, id, reader);
    const stream = await this.hub.open(kind, id, caller);
    try {
      return { stream, ...(await this.snapshot(kind, id, reader)) };
    } catch (e) {
      this.hub.abandon(stream);
      throw e;
    }
  }

  /** A ticket for one stream of a resource the actor may see. */
  async mintTicket(kind: StreamKind, id: string, actor: Actor, ip: string | undefined): Promise<{ ticket: string; url: string; expiresAt: string }> {
    await this.findAccessible(kind, id, actor);
    const { ticket, expiresAt } = this.tickets.mint(kind, id, callerKeyOf(actor, ip));
    const path = kind === 'session' ? `/v1/uploads/${id}/events` : `/v1/groups/${id}/events`;
    return { ticket, url: `${path}?ticket=${encodeURIComponent(ticket)}`, expiresAt: expiresAt.toISOString() };
  }

  private async findAccessible(kind: StreamKind, id: string, actor: Actor): Promise<void> {
    // A session's owner is one indexed read, no entity (every watched file opens a stream).
    if (kind === 'session') return this.getUpload.assertAccess(actor, id);
    // A fork: the snapshot, read later, must come from the database, not from this read in the identity map.
    await findAccessibleGroup(this.em.fork(), actor, id);
  }

  /** The same JSON as the resource's GET, and whether it is final already. */
  private async snapshot(kind: StreamKind, id: string, reader: Actor): Promise<{ snapshot: unknown; final: boolean }> {
    if (kind === 'session') {
      const details = await this.getUpload.execute(reader, id);
      return { snapshot: presentDetails(details), final: FINAL_FILE_STATUSES.includes(details.session.status) };
    }
    const view = await this.getGroup.execute(reader, id);
    return { snapshot: presentGroup(view), final: FINAL_GROUP_STATUSES.includes(view.group.status) };
  }
}
