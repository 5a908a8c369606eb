import { Body, Controller, Headers, HttpCode, HttpException, HttpStatus, Inject, Logger, Post, Query, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import { APP_CONFIG, StorageEventsConfig } from '@app/config';
import { Topology } from '@app/contracts';
import { AmqpConnection, DeadLetter, RetryLater } from '@app/messaging';
import { StorageNotificationIntake, UnreadableNotification } from './storage-notification.intake';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** The token as MinIO sends it (`Authorization: Bearer <token>`, or bare) or as a Ceph push-endpoint URL carries it (`?token=`). */
function presentedToken(authorization: string | undefined, query: string | undefined): string | null {
  if (authorization) return authorization.replace(/^Bearer\s+/i, '').trim();
  return query ?? null;
}

const NOTIFICATION_EXAMPLE = {
  Records: [
    {
      eventVersion: '2.2',
      eventSource: 'ceph:s3',
      eventName: 'ObjectCreated:Put',
      s3: {
        bucket: { name: 'uploads' },
        object: { key: 'uploads/7f1c.../photo.png', size: 1024, eTag: '9b2cf535f27731c974343645a3985328', sequencer: '1A2B3C' },
      },
    },
  ],
};

/**
 * Storage notifications over HTTP, for stores whose notifications cannot reach RabbitMQ: MinIO's webhook
 * target and Ceph RGW's HTTP push. The body takes exactly the path an AMQP notification takes.
 */
@ApiTags('storage events')
@Controller('v1/storage-events')
export class StorageEventsWebhookController {
  private readonly logger = new Logger('StorageEventsWebhook');
  private readonly token: Buffer | null;

  constructor(
    @Inject(APP_CONFIG) config: StorageEventsConfig,
    private readonly intake: StorageNotificationIntake,
    private readonly amqp: AmqpConnection,
  ) {
    this.token = config.webhookToken ? digest(config.webhookToken) : null;
  }

  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Receive a bucket notification (MinIO webhook target, Ceph RGW HTTP push, AWS S3 shape)',
    description:
      'Authenticated with STORAGE_WEBHOOK_TOKEN, as `Authorization: Bearer <token>` (MinIO: MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN) or as `?token=` ' +
      '(Ceph RGW: in the topic push-endpoint URL). Events are applied at most once each; a notification that can never apply ' +
      '(an object no upload knows) goes to the dead-letter queue like its AMQP twin and is answered 200 so the store does not resend it forever.',
  })
  @ApiHeader({ name: 'Authorization', required: false, description: '`Bearer <STORAGE_WEBHOOK_TOKEN>`' })
  @ApiQuery({ name: 'token', required: false, description: 'STORAGE_WEBHOOK_TOKEN, for senders that cannot set a header' })
  @ApiBody({
    description: 'MinIO `{ EventName, Key, Records }` or AWS S3 / Ceph RGW `{ Records }`',
    schema: {
      type: 'object',
      required: ['Records'],
      properties: { EventName: { type: 'string' }, Key: { type: 'string' }, Records: { type: 'array', items: { type: 'object' } } },
      example: NOTIFICATION_EXAMPLE,
    },
  })
  @ApiOkResponse({
    description: 'applied (outcome per event) or dead-lettered',
    schema: {
      type: 'object',
      properties: { outcomes: { type: 'array', items: { type: 'string' } }, deadLettered: { type: 'string' } },
      example: { outcomes: ['uploaded'] },
    },
  })
  @ApiBadRequestResponse({ description: 'the body is not a storage notification' })
  @ApiUnauthorizedResponse({ description: 'missing or wrong token' })
  @ApiNotFoundResponse({ description: 'the webhook is disabled (STORAGE_WEBHOOK_TOKEN is not set)' })
  @ApiServiceUnavailableResponse({ description: 'the database or broker is unavailable; the store should retry' })
  async receive(
    @Body() body: unknown,
    @Headers('authorization') authorization: string | undefined,
    @Query('token') queryToken: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<{ outcomes: string[] } | { deadLettered: string }> {
    if (!this.token) throw new HttpException('the storage webhook is disabled (STORAGE_WEBHOOK_TOKEN is not set)', HttpStatus.NOT_FOUND);
    const presented = presentedToken(authorization, typeof queryToken === 'string' ? queryToken : undefined);
    if (!presented || !timingSafeEqual(digest(presented), this.token))
      throw new HttpException('missing or wrong storage webhook token', HttpStatus.UNAUTHORIZED);

    try {
      return { outcomes: await this.intake.apply(body, 'http') };
    } catch (e) {
      if (e instanceof UnreadableNotification) throw new HttpException(e.message, HttpStatus.BAD_REQUEST);
      if (e instanceof DeadLetter) {
        await this.deadLetter(e.body ?? Buffer.from(JSON.stringify(body)), e.message);
        return { deadLettered: e.message };
      }
      if (e instanceof RetryLater) {
        res.setHeader('Retry-After', '5');
        throw new HttpException(e.message, HttpStatus.SERVICE_UNAVAILABLE);
      }
      throw e;
    }
  }

  /** Where its AMQP twin would go, with the same reason header. */
  private async deadLetter(body: Buffer, reason: string): Promise<void> {
    this.logger.warn(`dead-lettering a webhook notification: ${reason}`);
    await this.amqp.publish(Topology.deadLetterExchange, Topology.storageNotificationsDeadQueue, body, {
      headers: { 'x-dead-letter-reason': reason.slice(0, 1000), 'x-original-queue': 'webhook' },
    });
  }
}
