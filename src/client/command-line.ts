/**
 * Splits a command line into argv the way a POSIX shell would (quotes and backslashes), without
 * running a shell: no variables, globs, pipes or redirections, so nothing in the string is
 * executed except the program it names.
 */

export class CommandLineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandLineError';
  }
}

/** Unquoted words that would mean something to a shell; refused so users are not surprised. */
const SHELL_OPERATORS = new Set(['|', '||', '&', '&&', ';', '>', '>>', '<', '<<', '2>', '2>&1']);

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);
/** Characters a backslash escapes inside double quotes (POSIX); before others it stays literal. */
const DOUBLE_QUOTE_ESCAPES = new Set(['$', '`', '"', '\\', '\n']);

export function splitCommandLine(line: string): string[] {
  const words: string[] = [];
  let word = '';
  // A word exists once anything (even an empty pair of quotes) was read for it.
  let inWord = false;
  let quoted = false;

  const finish = () => {
    if (!inWord) return;
    if (!quoted && SHELL_OPERATORS.has(word)) {
      throw new CommandLineError(
        `"${word}" is a shell operator, but the command is not run through a shell; ` +
          `quote it to pass it as an argument, or run a shell yourself (sh -c "...")`,
      );
    }
    words.push(word);
    word = '';
    inWord = false;
    quoted = false;
  };

  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (WHITESPACE.has(ch)) {
      finish();
      continue;
    }
    inWord = true;
    if (ch === "'") {
      const end = line.indexOf("'", i + 1);
      if (end === -1) throw new CommandLineError('Unterminated single quote in the command');
      word += line.slice(i + 1, end);
      quoted = true;
      i = end;
    } else if (ch === '"') {
      quoted = true;
      let closed = false;
      for (i++; i < line.length; i++) {
        const c = line[i];
        if (c === '"') {
          closed = true;
          break;
        }
        if (c === '\\' && i + 1 < line.length && DOUBLE_QUOTE_ESCAPES.has(line[i + 1])) {
          i++;
          if (line[i] !== '\n') word += line[i];
          continue;
        }
        word += c;
      }
      if (!closed) throw new CommandLineError('Unterminated double quote in the command');
    } else if (ch === '\\') {
      if (i + 1 >= line.length) throw new CommandLineError('The command ends with a lone backslash');
      i++;
      // Backslash-newline continues the line, as in a shell.
      if (line[i] === '\n') {
        if (word === '' && !quoted) inWord = false;
        continue;
      }
      quoted = true;
      word += line[i];
    } else {
      word += ch;
    }
  }
  finish();
  if (words.length === 0) throw new CommandLineError('The command is empty');
  return words;
}
