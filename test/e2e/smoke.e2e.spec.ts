import { Test } from '@nestjs/testing';
import request from 'supertest';
import { AppModule } from '../../src/app.module.js';

test('boots', async () => {
  const mod = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = mod.createNestApplication();
  await app.init();
  const res = await request(app.getHttpServer()).get('/health');
  expect(res.body).toEqual({ status: 'ok' });
  await app.close();
});
