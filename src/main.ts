import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { ConfigError, loadConfig, type AppConfig } from './config/app-config.js';
import { withEnvFile, type Environment } from './config/env-file.js';
import { PACKAGE_INFO } from './config/package-info.js';
import { createApp } from './create-app.js';
import { GatewayLogger } from './common/gateway-logger.js';
import { isListenError, listenErrorMessage } from './common/listen-error.js';
import { startupBanner } from './common/startup-banner.js';

/** Stops the process with one line on stderr: a mistake in the user's settings, not in the code, needs no stack. */
function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

async function bootstrap(): Promise<void> {
  let environment: Environment;
  let config: AppConfig;
  try {
    environment = withEnvFile(process.env, process.cwd());
    config = loadConfig(environment.env);
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
  const logger = new GatewayLogger({ format: config.logFormat, level: config.logLevel });
  const app = await createApp(config, logger);
  try {
    // A larger accept queue than Node's 511: tunnels reconnect in bursts after a gateway restart.
    await app.listen({ port: config.port, host: config.host, backlog: 4096 });
  } catch (err) {
    if (isListenError(err)) fail(listenErrorMessage(err, config.host, config.port));
    throw err;
  }
  if (!logger.isLevelEnabled('log')) return;
  const { port } = app.getHttpServer().address() as AddressInfo;
  const banner = startupBanner(config, { ...PACKAGE_INFO, port, envFile: environment.file });
  // A terminal gets the block as text; JSON logs get it as one record.
  if (config.logFormat === 'pretty') process.stdout.write(banner.text);
  else logger.log(banner.fields, 'Bootstrap');
}

void bootstrap();
