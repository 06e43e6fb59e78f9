#!/usr/bin/env node
/**
 * Prints a gateway token signed with JWT_SECRET, for local use:
 *   npm run token -- --sub alice@example.com [--admin] [--exp 1h]
 * Reads the settings as the gateway does: the environment, then `.env` in the working directory.
 */
import { Command } from 'commander';
import { signToken } from '../auth/sign-token.js';
import { ConfigError } from '../config/app-config.js';
import { withEnvFile } from '../config/env-file.js';

const program = new Command('token')
  .description('Print a JWT for the gateway, signed with JWT_SECRET (HS256 unless JWT_ALGORITHM says otherwise).')
  .option('--sub <subject>', 'user the token names (JWT sub claim)')
  .option('--email <email>', 'email claim, used as owner when there is no sub')
  .option('--admin', 'mark the token as an admin token (is_admin: true)', false)
  .option('--exp <duration>', 'lifetime, e.g. 30m, 1h, 7d', '1h')
  .option('--secret <secret>', 'signing secret (default: $JWT_SECRET, from the environment or ./.env)')
  .option('--issuer <iss>', 'iss claim (default: $JWT_ISSUER)')
  .option('--audience <aud>', 'aud claim (default: $JWT_AUDIENCE)')
  .showHelpAfterError();

program.parse();
const opts = program.opts<{
  sub?: string;
  email?: string;
  admin: boolean;
  exp: string;
  secret?: string;
  issuer?: string;
  audience?: string;
}>();
const env = readEnvironment();
const secret = opts.secret ?? (env.JWT_SECRET || undefined);
if (!secret) program.error('No secret: set JWT_SECRET (in the environment or ./.env) or pass --secret.');
if (!opts.sub && !opts.email) program.error('Give --sub or --email: the gateway refuses tokens with neither.');
const algorithm = (env.JWT_ALGORITHM || 'HS256') as 'HS256' | 'HS384' | 'HS512';

process.stdout.write(
  signToken({
    secret: secret!,
    sub: opts.sub,
    email: opts.email,
    admin: opts.admin,
    expiresIn: /^\d+$/.test(opts.exp) ? Number(opts.exp) : opts.exp,
    issuer: opts.issuer ?? (env.JWT_ISSUER || undefined),
    audience: opts.audience ?? (env.JWT_AUDIENCE || undefined),
    algorithm,
  }) + '\n',
);

/** The settings as the gateway reads them: the environment, then ./.env beneath it. */
function readEnvironment(): Record<string, string | undefined> {
  try {
    return withEnvFile(process.env, process.cwd()).env;
  } catch (err) {
    return program.error(err instanceof ConfigError ? err.message : String(err));
  }
}
