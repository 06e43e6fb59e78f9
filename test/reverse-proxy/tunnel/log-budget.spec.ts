import { LogBudget } from '../../../src/reverse-proxy/tunnel/log-budget.js';

test('allows maxPerWindow lines per window, counts the rest and reports them on the next allowed line', () => {
  let now = 1000;
  const budget = new LogBudget(3, 1000, () => now);
  expect([budget.take(), budget.take(), budget.take()]).toEqual([
    { allowed: true, suppressed: 0 },
    { allowed: true, suppressed: 0 },
    { allowed: true, suppressed: 0 },
  ]);
  for (let i = 0; i < 5; i++) expect(budget.take()).toEqual({ allowed: false });
  now += 999;
  expect(budget.take()).toEqual({ allowed: false });
  now += 1;
  expect(budget.take()).toEqual({ allowed: true, suppressed: 6 });
  expect(budget.take()).toEqual({ allowed: true, suppressed: 0 });
});

test('the first call is always allowed, whatever the clock says', () => {
  expect(new LogBudget(1, 1000, () => 0).take()).toEqual({ allowed: true, suppressed: 0 });
});

test('a zero budget logs nothing and keeps counting', () => {
  const budget = new LogBudget(0, 1000, () => 0);
  expect(budget.take()).toEqual({ allowed: false });
  expect(budget.take()).toEqual({ allowed: false });
});
