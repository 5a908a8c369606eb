import { Controller, Get, HttpStatus, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheckService } from '@nestjs/terminus';
import type { Response } from 'express';
import { DependencyHealthIndicators } from './health.indicators';

const HEALTH_EXAMPLE = { status: 'ok', info: { database: { status: 'up' }, broker: { status: 'up' }, storage: { status: 'up' } }, error: {}, details: {} };

/**
 * Kubernetes probes. Liveness says only that the process answers (a dependency outage must not restart
 * pods); readiness says whether Postgres, RabbitMQ and the S3 bucket answer, so traffic and scaling wait.
 */
@ApiTags('operations')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly checks: DependencyHealthIndicators,
  ) {}

  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process answers' })
  @ApiOkResponse({ schema: { example: { status: 'ok' } } })
  live() {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness: Postgres, RabbitMQ and the S3 bucket answer' })
  @ApiOkResponse({ description: 'every dependency is up', schema: { example: HEALTH_EXAMPLE } })
  @ApiServiceUnavailableResponse({ description: 'at least one dependency is down; `error` names it with the reason' })
  async ready(@Res({ passthrough: true }) res: Response) {
    // Terminus answers a failed check with a 503 exception carrying the details; an app's error filter
    // would reshape that body, so the result is written here as it is.
    const result = await this.health
      .check([() => this.checks.database(), () => this.checks.broker(), () => this.checks.storage()])
      .catch((e: { getResponse?: () => unknown }) => {
        res.status(HttpStatus.SERVICE_UNAVAILABLE);
        return e.getResponse?.() ?? { status: 'error' };
      });
    return result;
  }
}
