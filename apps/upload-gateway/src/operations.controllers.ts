import { Controller } from '@nestjs/common';
import { HealthController } from '@app/health';
import { MetricsController } from '@app/observability';
import { Public } from './identity/auth.guard';

/** Probes need no identity. */
@Public()
@Controller('health')
export class GatewayHealthController extends HealthController {}

/** Scrapes need no identity (keep /metrics off the public ingress: see k8s/). */
@Public()
@Controller('metrics')
export class GatewayMetricsController extends MetricsController {}
