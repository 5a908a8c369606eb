import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { APP_CONFIG, GatewayConfig } from '@app/config';
import { asyncApiDocument } from '@app/contracts';
import { Public } from '../identity/auth.guard';

/** The event catalogue (AsyncAPI 3), beside the OpenAPI document: for RabbitMQ consumers and webhook receivers alike. */
@Public()
@ApiTags('operations')
@Controller('docs')
export class AsyncApiController {
  private readonly document: Record<string, unknown>;

  constructor(@Inject(APP_CONFIG) config: GatewayConfig) {
    this.document = asyncApiDocument({ domainEventsExchange: config.amqp.domainEventsExchange, version: '1' });
  }

  @Get('asyncapi.json')
  @ApiOperation({ operationId: 'getAsyncApi', summary: 'AsyncAPI 3.0 document of the domain events (RabbitMQ routing keys and webhook deliveries)' })
  @ApiOkResponse({ schema: { type: 'object', example: { asyncapi: '3.0.0' } } })
  asyncApi(): Record<string, unknown> {
    return this.document;
  }
}
