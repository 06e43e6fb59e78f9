import { Logger, redact } from '../../src/client/logger.js';

const JWT = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLWJ5dGVz';

describe('redact', () => {
  test.each([
    [`token ${JWT} here`, 'token *** here'],
    ['Authorization: Bearer abc.def', 'Authorization: Bearer ***'],
    ['{"authentication":"s3cret","x":1}', '{"authentication":"***","x":1}'],
    ['{"api_key": "k-123"}', '{"api_key": "***"}'],
    ['{"resumeToken":"Zm9v_YmFy-x","resumed":true}', '{"resumeToken":"***","resumed":true}'],
    ['{"resume":{"token":"Zm9v_YmFy-x","lastReceived":3}}', '{"resume":{"token":"***","lastReceived":3}}'],
    ['https://bob:pw@host/x', 'https://***@host/x'],
    ['nothing to hide', 'nothing to hide'],
  ])('%s', (input, output) => {
    expect(redact(input)).toBe(output);
  });

  test('hides the exact secrets it is given, even when they are not JWTs', () => {
    expect(redact('opaque-token-value in a frame', ['opaque-token-value'])).toBe('*** in a frame');
  });
});

describe('Logger', () => {
  test('filters by level, names the tunnel, redacts every line and cuts long debug lines after redacting', () => {
    const lines: string[] = [];
    const logger = new Logger({ level: 'info', sink: { write: (l) => lines.push(l) }, secrets: ['sekret-1'] });
    logger.debug('hidden');
    logger.info('plain sekret-1');
    logger.child('files').warn('careful');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} plain \*\*\*\n$/);
    expect(lines[1]).toMatch(/WARN \[files\] careful/);

    const debug: string[] = [];
    const verbose = new Logger({ level: 'debug', sink: { write: (l) => debug.push(l) }, maxDebugChars: 40 });
    verbose.debug(`${'x'.repeat(20)} ${JWT} ${'y'.repeat(100)}`);
    expect(debug[0]).not.toContain('eyJ');
    expect(debug[0]).toMatch(/\.\.\. \(\d+ chars\)/);
  });
});
