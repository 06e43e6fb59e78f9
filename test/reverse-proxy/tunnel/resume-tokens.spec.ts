import { ResumeTokens } from '../../../src/reverse-proxy/tunnel/resume-tokens.js';

const session = (id: string, owner: string | null) => ({ id, owner });

test('a token resumes its session once, for its owner only', () => {
  const tokens = new ResumeTokens();
  const alice = session('s1', 'alice');
  const token = tokens.issue(alice);
  expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect(tokens.redeem(token, 'alice')).toBe(alice);
  expect(tokens.redeem(token, 'alice')).toBeUndefined(); // used
});

test("another user's presentation uses the token up without resuming", () => {
  const tokens = new ResumeTokens();
  const token = tokens.issue(session('s1', 'alice'));
  expect(tokens.redeem(token, 'bob')).toBeUndefined();
  expect(tokens.redeem(token, 'alice')).toBeUndefined();
  expect(tokens.size).toBe(0);
});

test('anonymous sessions are resumed anonymously only, and a user never resumes one', () => {
  const tokens = new ResumeTokens();
  const anon = session('s1', null);
  expect(tokens.redeem(tokens.issue(anon), 'alice')).toBeUndefined();
  expect(tokens.redeem(tokens.issue(anon), null)).toBe(anon);
  const alice = session('s2', 'alice');
  expect(tokens.redeem(tokens.issue(alice), null)).toBeUndefined();
});

test('a new token replaces the previous one; revoke ends it; unknown tokens resume nothing', () => {
  const tokens = new ResumeTokens();
  const s = session('s1', 'alice');
  const first = tokens.issue(s);
  const second = tokens.issue(s);
  expect(tokens.redeem(first, 'alice')).toBeUndefined();
  expect(tokens.size).toBe(1);
  tokens.revoke('s1');
  expect(tokens.redeem(second, 'alice')).toBeUndefined();
  expect(tokens.redeem('made-up', 'alice')).toBeUndefined();
});

test('in cluster mode a token names its replica, which any replica can read', () => {
  const tokens = new ResumeTokens((n) => Buffer.alloc(n, 1), 'replica-a.1');
  const token = tokens.issue(session('s1', 'alice'));
  expect(token).toBe(`replica-a.1~${Buffer.alloc(32, 1).toString('base64url')}`);
  expect(ResumeTokens.homeOf(token)).toBe('replica-a.1');
  expect(ResumeTokens.homeOf(new ResumeTokens().issue(session('s2', 'alice')))).toBeUndefined();
  expect(tokens.redeem(token, 'alice')).toEqual(session('s1', 'alice'));
});

test('tokens come from the injected randomness', () => {
  const tokens = new ResumeTokens((n) => Buffer.alloc(n, 7));
  expect(tokens.issue(session('s1', 'a'))).toBe(Buffer.alloc(32, 7).toString('base64url'));
});
