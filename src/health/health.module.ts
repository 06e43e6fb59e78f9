import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { ReverseProxyModule } from '../reverse-proxy/reverse-proxy.module.js';
import { HealthController } from './health.controller.js';

@Module({
  imports: [TerminusModule, ReverseProxyModule],
  controllers: [HealthController],
})
export class HealthModule {}
