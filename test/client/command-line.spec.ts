import { CommandLineError, splitCommandLine } from '../../src/client/command-line.js';

describe('splitCommandLine', () => {
  test.each<[string, string[]]>([
    ['npx -y @modelcontextprotocol/server-everything', ['npx', '-y', '@modelcontextprotocol/server-everything']],
    ['  node   server.js\t--port 3 ', ['node', 'server.js', '--port', '3']],
    [`python -c "print('hi there')"`, ['python', '-c', "print('hi there')"]],
    [`echo 'single "quoted" $HOME'`, ['echo', 'single "quoted" $HOME']],
    [`a "x \\"y\\" \\$z \\n"`, ['a', 'x "y" $z \\n']],
    ['path\\ with\\ spaces/bin --flag', ['path with spaces/bin', '--flag']],
    [`run "" ''`, ['run', '', '']],
    [`--opt=a"b c"d`, ['--opt=ab cd']],
    ['first \\\n second', ['first', 'second']],
    [`tool "|" '&&'`, ['tool', '|', '&&']],
    ['node $HOME/x *.js', ['node', '$HOME/x', '*.js']],
  ])('%s', (line, argv) => {
    expect(splitCommandLine(line)).toEqual(argv);
  });

  test.each([
    ['unterminated "double', /Unterminated double quote/],
    ["unterminated 'single", /Unterminated single quote/],
    ['trailing \\', /lone backslash/],
    ['   ', /empty/],
    ['server | tee log', /shell operator/],
    ['server && other', /shell operator/],
    ['server > out.txt', /shell operator/],
  ])('refuses %j', (line, message) => {
    expect(() => splitCommandLine(line)).toThrow(CommandLineError);
    expect(() => splitCommandLine(line)).toThrow(message);
  });
});
