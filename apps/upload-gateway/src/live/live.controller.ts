import { applyDecorators, Controller, Get, HttpCode, HttpException, HttpStatus, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProduces,
  ApiQuery,
  ApiResponse,
  ApiSecurity,
  ApiTags,
} from '@nestjs/swagger';
import type { LiveStreamsConfig } from '@app/config';
import { Actor } from '@app/domain';
import { LiveEventsUnavailable } from '@app/messaging';
import { ApiErrors } from '../errors/api-errors.decorator';
import { ErrorBody } from '../errors/error-body.dto';
import { CurrentActor } from '../identity/auth.guard';
import { STREAM_DESCRIPTION, StreamTicketView } from './live.dto';
import { LiveStreams } from './live-streams';
import { SseResponse, setResponseHeader } from './sse-response';
import { StreamHub, TooManyStreams } from './stream-hub';
import { StreamKind } from './stream-tickets';

export const LIVE_CONFIG = Symbol('LiveStreamsConfig');

type Req = { ip?: string };

const StreamRoute = (kind: StreamKind) =>
  applyDecorators(
    ApiParam({ name: 'id', format: 'uuid', description: kind === 'session' ? 'upload session id' : 'upload group id' }),
    ApiQuery({
      name: 'ticket',
      required: false,
      description: 'a stream ticket for this resource (POST …/events/tickets), for an EventSource that cannot send headers',
    }),
    ApiProduces('text/event-stream'),
    ApiOkResponse({
      description: STREAM_DESCRIPTION,
      content: {
        'text/event-stream': {
          schema: { type: 'string' },
          example:
            kind === 'session'
              ? 'retry: 2000\nevent: snapshot\ndata: {"id":"…","status":"UPLOADED","jobs":[…],…}\n\nevent: session.processing\nid: 6c1…\ndata: {"id":"6c1…","type":"session.processing",…}\n\nevent: job.completed\nid: 9a2…\ndata: {…}\n\nevent: session.completed\nid: 0d4…\ndata: {…}\n\n'
              : 'retry: 2000\nevent: snapshot\ndata: {"id":"…","status":"IN_PROGRESS","completedFiles":3,…}\n\nevent: session.completed\nid: …\ndata: {…}\n\n: heartbeat\n\nevent: group.completed\nid: …\ndata: {…}\n\n',
        },
      },
    }),
    ApiResponse({
      status: 429,
      description: 'SSE_MAX_STREAMS_PER_CALLER streams of this caller, or SSE_MAX_STREAMS of this replica, are open; retry after Retry-After seconds',
      type: ErrorBody,
    }),
    ApiErrors(401, 404),
  );

const TicketRoute = (kind: StreamKind) =>
  applyDecorators(
    HttpCode(201),
    ApiParam({ name: 'id', format: 'uuid', description: kind === 'session' ? 'upload session id' : 'upload group id' }),
    ApiCreatedResponse({ type: StreamTicketView }),
    ApiErrors(404),
  );

/**
 * Live progress as server-sent events: a snapshot, then each domain event about the session or group, until
 * its final one. Same identity and ownership as the GETs; browsers' EventSource, which cannot send headers,
 * uses a short-lived ticket minted here (or, on the gateway's own pages, the upload-token cookie).
 */
@ApiTags('live')
@ApiBearerAuth()
@ApiSecurity('uploadToken')
@ApiErrors(401, 503)
@Controller('v1')
export class LiveController {
  constructor(
    private readonly streams: LiveStreams,
    private readonly hub: StreamHub,
    @Inject(LIVE_CONFIG) private readonly config: LiveStreamsConfig,
  ) {}

  @Get('uploads/:id/events')
  @ApiOperation({
    operationId: 'streamUploadEvents',
    summary: "A session's live progress (server-sent events): snapshot, then each of its events until the final one",
  })
  @StreamRoute('session')
  async uploadEvents(
    @CurrentActor() actor: Actor,
    @Param('id') id: string,
    @Query('ticket') ticket: unknown,
    @Req() req: Req,
    @Res() res: unknown,
  ): Promise<void> {
    await this.stream('session', id, actor, ticket, req, res);
  }

  @Get('groups/:id/events')
  @ApiOperation({
    operationId: 'streamGroupEvents',
    summary: "A group's live progress (server-sent events): snapshot, then its sessions' and its own events until the group's final one",
  })
  @StreamRoute('group')
  async groupEvents(
    @CurrentActor() actor: Actor,
    @Param('id') id: string,
    @Query('ticket') ticket: unknown,
    @Req() req: Req,
    @Res() res: unknown,
  ): Promise<void> {
    await this.stream('group', id, actor, ticket, req, res);
  }

  @Post('uploads/:id/events/tickets')
  @ApiOperation({ operationId: 'createUploadEventsTicket', summary: "A short-lived ticket that opens this session's event stream (for EventSource)" })
  @TicketRoute('session')
  uploadTicket(@CurrentActor() actor: Actor, @Param('id') id: string, @Req() req: Req) {
    return this.streams.mintTicket('session', id, actor, req.ip);
  }

  @Post('groups/:id/events/tickets')
  @ApiOperation({ operationId: 'createGroupEventsTicket', summary: "A short-lived ticket that opens this group's event stream (for EventSource)" })
  @TicketRoute('group')
  groupTicket(@CurrentActor() actor: Actor, @Param('id') id: string, @Req() req: Req) {
    return this.streams.mintTicket('group', id, actor, req.ip);
  }

  private async stream(kind: StreamKind, id: string, actor: Actor, ticket: unknown, req: Req, res: unknown): Promise<void> {
    let opened;
    try {
      opened = await this.streams.open(kind, id, actor, ticket, req.ip);
    } catch (e) {
      if (e instanceof TooManyStreams) {
        setResponseHeader(res, 'Retry-After', '5');
        throw new HttpException(e.message, HttpStatus.TOO_MANY_REQUESTS);
      }
      if (e instanceof LiveEventsUnavailable) {
        setResponseHeader(res, 'Retry-After', '5');
        throw new HttpException('live events are unavailable (no broker connection); retry shortly', HttpStatus.SERVICE_UNAVAILABLE);
      }
      throw e;
    }
    this.hub.start(opened.stream, SseResponse.open(res, req, this.config.maxBufferedBytes), opened.snapshot, opened.final);
  }
}
