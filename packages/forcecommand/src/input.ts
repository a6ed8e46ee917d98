import { ForceCommandError } from './errors.ts';

/**
 * Stage 1: what may reach the parser at all. The class is the seed's, [a-zA-Z0-9 _./:,=@'-]: it has no
 * shell metacharacter (; | & $ ` < > ( ) { } * ? ~ ! # \ "), no control character (newline, tab, NUL),
 * and nothing outside ASCII, so no later stage ever has to reason about them.
 */
export const ALLOWED_CHARACTERS = /^[a-zA-Z0-9 _./:,=@'-]*$/;

/** Default for limits.maxCommandLength; FRR's own vty buffer is 4096 bytes, no tool call needs more. */
export const DEFAULT_MAX_COMMAND_LENGTH = 1024;

/**
 * Checks the raw SSH_ORIGINAL_COMMAND. Order matters only for which code a command with several faults
 * gets: emptiness, then length (before scanning a huge string), then characters, then quotes.
 */
export function checkInput(command: string | undefined, maxLength = DEFAULT_MAX_COMMAND_LENGTH): string {
  if (command === undefined || command.trim() === '') {
    throw new ForceCommandError('ERR_FC_EMPTY');
  }
  if (command.length > maxLength) {
    throw new ForceCommandError('ERR_FC_TOO_LONG', undefined, {
      detail: { length: command.length, maxLength },
    });
  }
  if (!ALLOWED_CHARACTERS.test(command)) {
    const bad = [...command].find((c) => !ALLOWED_CHARACTERS.test(c)) ?? '';
    throw new ForceCommandError('ERR_FC_METACHARACTER', undefined, {
      detail: { codePoint: `U+${(bad.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}` },
    });
  }
  let quotes = 0;
  for (const c of command) if (c === "'") quotes++;
  if (quotes % 2 !== 0) throw new ForceCommandError('ERR_FC_UNBALANCED_QUOTE');
  return command;
}

/**
 * Splits a stage-1-clean command into words by the POSIX single-quote rule, without a shell: outside
 * quotes a space ends a word, inside quotes every character is literal, and quoted and unquoted parts
 * next to each other form one word (`a'b c'd` is `ab cd`). `''` is an empty word. There is no other
 * quoting: backslash and double quote never pass stage 1.
 */
export function splitWords(command: string): string[] {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  let quoted = false;
  for (const c of command) {
    if (quoted) {
      if (c === "'") quoted = false;
      else current += c;
    } else if (c === "'") {
      quoted = true;
      inWord = true;
    } else if (c === ' ') {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += c;
      inWord = true;
    }
  }
  if (quoted) throw new ForceCommandError('ERR_FC_UNBALANCED_QUOTE');
  if (inWord) words.push(current);
  return words;
}
