import { Controller } from '@nestjs/common';
import { HealthController } from '@app/health';
import { Public } from '../identity/auth.guard';

/** Probes need no identity. */
@Public()
@Controller('health')
export class GatewayHealthController extends HealthController {}
