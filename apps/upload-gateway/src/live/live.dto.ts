import { ApiProperty } from '@nestjs/swagger';

/** 201 of POST …/events/tickets. */
export class StreamTicketView {
  @ApiProperty({ description: 'opens this one stream (`?ticket=`) until `expiresAt`; not usable for anything else' }) ticket!: string;
  @ApiProperty({
    example: '/v1/uploads/0b0f…/events?ticket=v1.…',
    description: 'the stream URL with the ticket, relative to the gateway: `new EventSource(url)`',
  })
  url!: string;
  @ApiProperty({ type: String, format: 'date-time', description: 'after this the ticket opens nothing (401): mint another' }) expiresAt!: string;
}

/** What a live stream sends, for the OpenAPI description of both routes. */
export const STREAM_DESCRIPTION = [
  '`text/event-stream` (server-sent events). The first event is `snapshot`: the current state, the same JSON as the GET of the resource.',
  'Then one event per domain event about it: `event:` is the routing key (`session.uploaded|processing|completed|failed|deleted`,',
  '`job.completed|failed`, and for a group `group.completed|failed|cancelled` plus the events of its sessions), `id:` the envelope id,',
  '`data:` the envelope as on RabbitMQ (`{ id, type, occurredAt, version, data }`, see /docs/asyncapi.json). A `: heartbeat` comment',
  'comes every SSE_HEARTBEAT_SECONDS (15). The stream ends after the final event (or at once when the snapshot is final): close the',
  'EventSource then, or it reconnects. Reconnecting, with or without `Last-Event-ID`, always starts with a fresh snapshot: states',
  'only move forward, so a client never misses a final state. Identity as for the GET (bearer token, `X-Upload-Token` or the',
  '`upload_token` cookie), or `?ticket=` from POST …/events/tickets for an EventSource that cannot send headers.',
].join(' ');
