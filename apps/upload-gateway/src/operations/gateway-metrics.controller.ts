import { Controller } from '@nestjs/common';
import { MetricsController } from '@app/observability';
import { Public } from '../identity/auth.guard';

/** Scrapes need no identity (keep /metrics off the public ingress: see k8s/). */
@Public()
@Controller('metrics')
export class GatewayMetricsController extends MetricsController {}
