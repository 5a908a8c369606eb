import { Controller } from '@nestjs/common';
import { HealthController as BaseHealthController } from '@app/health';
import { Public } from './identity/auth.guard';

/** Health probes need no identity. */
@Public()
@Controller('health')
export class GatewayHealthController extends BaseHealthController {}
