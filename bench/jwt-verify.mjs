#!/usr/bin/env node
/**
 * Evidence for a profile finding: what one HS256 `jsonwebtoken.verify` costs when the secret is a
 * string (as passport-jwt and JwtService hand it over: jsonwebtoken 9 first tries
 * crypto.createPublicKey(string), which throws, then createSecretKey) versus a KeyObject made once.
 * Prints one JSON line: {"stringUs":..,"keyObjectUs":..} (µs per verify, best of 3 rounds).
 */
import { createSecretKey } from 'node:crypto';
import jwt from 'jsonwebtoken';

const secret = 'bench-secret-0123456789abcdef';
const token = jwt.sign({ sub: 'bench' }, secret, { expiresIn: '1h' });
const key = createSecretKey(Buffer.from(secret));
const n = Number(process.argv[2] ?? 2000);
const time = (k) => {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) jwt.verify(token, k, { algorithms: ['HS256'] });
  return Number(process.hrtime.bigint() - t0) / 1e3 / n;
};
const best = { stringUs: Infinity, keyObjectUs: Infinity };
for (let round = 0; round < 3; round++) {
  best.stringUs = Math.min(best.stringUs, time(secret));
  best.keyObjectUs = Math.min(best.keyObjectUs, time(key));
}
console.log(JSON.stringify(best));
