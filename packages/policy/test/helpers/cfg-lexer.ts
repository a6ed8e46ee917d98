// A test-only tokenizer following tac_plus-ng's shared lexer (whitespace, `#` comments, C-style quoted
// strings, `/.../` literals after `~`, the single-character tokens `= , { } ! ( ) [ ]`, `&&`, `||`, and
// words), enough to compare the token streams of two configurations.

export type Token = { kind: 'word' | 'string' | 'regex' | 'punct'; text: string };

export function tokenize(cfg: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let afterTilde = false;
  while (i < cfg.length) {
    const c = cfg[i] as string;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < cfg.length && cfg[i] !== '\n' && cfg[i] !== '\r') i++;
      continue;
    }
    if (c === '"') {
      let s = '';
      i++;
      while (cfg[i] !== '"') {
        if (i >= cfg.length) throw new Error('EOF in string');
        if (cfg[i] === '\\') {
          s += cfg[i + 1];
          i += 2;
          continue;
        }
        s += cfg[i];
        i++;
      }
      i++;
      out.push({ kind: 'string', text: s });
      afterTilde = false;
      continue;
    }
    if (c === '/' && afterTilde) {
      let s = '';
      i++;
      while (cfg[i] !== '/') {
        if (i >= cfg.length || cfg[i] === '\n') throw new Error('unterminated regex');
        if (cfg[i] === '\\') {
          i++;
          if (cfg[i] !== '\\' && cfg[i] !== '/') s += '\\';
        }
        s += cfg[i];
        i++;
      }
      i++;
      out.push({ kind: 'regex', text: s });
      afterTilde = false;
      continue;
    }
    if ('=,{}!()[]'.includes(c)) {
      out.push({ kind: 'punct', text: c });
      i++;
      afterTilde = false;
      continue;
    }
    if ((c === '&' || c === '|') && cfg[i + 1] === c) {
      out.push({ kind: 'punct', text: c + c });
      i += 2;
      continue;
    }
    let w = '';
    while (i < cfg.length && !' \t\r\n={}()[]|&!,'.includes(cfg[i] as string)) {
      w += cfg[i];
      i++;
    }
    if (w === '') throw new Error(`unexpected character ${JSON.stringify(c)}`);
    out.push({ kind: 'word', text: w });
    // `=~` lexes as `=` then the word `~`: the next token may be a /.../ literal
    afterTilde = w === '~';
  }
  return out;
}

/** The tokens of the block that starts with `words` (e.g. ['profile', 'viewer-profile']), braces included. */
export function block(tokens: readonly Token[], words: readonly string[]): Token[] {
  for (let i = 0; i + words.length < tokens.length; i++) {
    if (words.every((w, k) => tokens[i + k]?.text === w) && tokens[i + words.length]?.text === '{') {
      let depth = 0;
      for (let j = i + words.length; j < tokens.length; j++) {
        if (tokens[j]?.text === '{') depth++;
        if (tokens[j]?.text === '}' && --depth === 0) return tokens.slice(i, j + 1);
      }
    }
  }
  throw new Error(`no block ${words.join(' ')}`);
}
