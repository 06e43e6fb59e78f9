import 'reflect-metadata';
import { ConsoleLogger } from '@nestjs/common';
import { ConfigError, loadConfig, type AppConfig } from './config/app-config.js';
import { createApp } from './create-app.js';
import { logLevels } from './common/log-levels.js';

async function bootstrap(): Promise<void> {
  let config: AppConfig;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = new ConsoleLogger({ json: config.logFormat === 'json', logLevels: logLevels(config.logLevel) });
  const app = await createApp(config, logger);
  // A larger accept queue than Node's 511: tunnels reconnect in bursts after a gateway restart.
  await app.listen({ port: config.port, host: config.host, backlog: 4096 });
  logger.log({ msg: 'Gateway listening', url: `http://${config.host}:${config.port}`, auth: config.auth.required }, 'Bootstrap');
}

void bootstrap();
