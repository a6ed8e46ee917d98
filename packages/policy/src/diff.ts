// A small line diff (longest common subsequence) for `check`: deployed artifacts are a few hundred lines.

export interface DiffOptions {
  readonly context?: number;
  readonly fromLabel?: string;
  readonly toLabel?: string;
  /** Line number of the first line of `from` in its file (when `from` is an excerpt). Default 1. */
  readonly fromStart?: number;
}

type Op = { readonly kind: ' ' | '-' | '+'; readonly line: string };

function ops(a: readonly string[], b: readonly string[]): Op[] {
  const n = a.length;
  const m = b.length;
  // lcs[i][j] = LCS length of a[i..] and b[j..]
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    const row = lcs[i] as number[];
    const next = lcs[i + 1] as number[];
    for (let j = m - 1; j >= 0; j--) {
      row[j] =
        a[i] === b[j] ? (next[j + 1] as number) + 1 : Math.max(next[j] as number, row[j + 1] as number);
    }
  }
  const out: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      out.push({ kind: ' ', line: a[i] as string });
      i++;
      j++;
    } else if ((lcs[i + 1]?.[j] ?? 0) >= (lcs[i]?.[j + 1] ?? 0)) {
      out.push({ kind: '-', line: a[i++] as string });
    } else {
      out.push({ kind: '+', line: b[j++] as string });
    }
  }
  while (i < n) out.push({ kind: '-', line: a[i++] as string });
  while (j < m) out.push({ kind: '+', line: b[j++] as string });
  return out;
}

/**
 * Unified-style diff from `from` to `to` (`-` lines only in `from`, `+` only in `to`), with `context` lines
 * around each change; empty string when the texts are equal.
 */
export function lineDiff(from: string, to: string, opts: DiffOptions = {}): string {
  if (from === to) return '';
  const context = opts.context ?? 3;
  const all = ops(from.split('\n'), to.split('\n'));
  const keep = new Array<boolean>(all.length).fill(false);
  all.forEach((o, k) => {
    if (o.kind !== ' ')
      for (let d = -context; d <= context; d++) if (k + d >= 0 && k + d < all.length) keep[k + d] = true;
  });
  const lines = [`--- ${opts.fromLabel ?? 'a'}`, `+++ ${opts.toLabel ?? 'b'}`];
  let aLine = opts.fromStart ?? 1;
  let bLine = 1;
  let inHunk = false;
  all.forEach((o, k) => {
    if (keep[k]) {
      if (!inHunk) lines.push(`@@ deployed line ${aLine}, rendered line ${bLine} @@`);
      inHunk = true;
      lines.push(`${o.kind}${o.line}`);
    } else {
      inHunk = false;
    }
    if (o.kind !== '+') aLine++;
    if (o.kind !== '-') bLine++;
  });
  return `${lines.join('\n')}\n`;
}
