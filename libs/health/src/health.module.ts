import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { DependencyHealthIndicators } from './health.indicators';

/**
 * Terminus and the dependency checks. Apps add HealthController (or a subclass, as the gateway does to
 * mark it public) to their own controllers.
 */
@Module({
  imports: [TerminusModule.forRoot({ errorLogStyle: 'json' })],
  providers: [DependencyHealthIndicators],
  exports: [TerminusModule, DependencyHealthIndicators],
})
export class HealthModule {}
