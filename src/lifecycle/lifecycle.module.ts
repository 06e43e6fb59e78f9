import { Global, Module } from '@nestjs/common';
import { ShutdownState } from './shutdown-state.js';

/**
 * The drain state, global so that the probes and the doors' gates can read it. (DrainService itself
 * is provided by the root module: see app.module.ts.)
 */
@Global()
@Module({ providers: [ShutdownState], exports: [ShutdownState] })
export class LifecycleModule {}
