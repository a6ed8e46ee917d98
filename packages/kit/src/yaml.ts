/**
 * The one YAML option set every netward configuration is read with:
 * - duplicate keys are errors (a second `requireActor:` must not silently win);
 * - the YAML 1.2 core schema with no custom tags, and any unresolved tag an error: no `!!js/...`, no
 *   `!!binary`, no timestamps turning into Dates;
 * - no `<<` merge keys and no aliases at all (the billion-laughs vector; no configuration needs them);
 * - warnings are errors, and every error carries its line and column.
 * JSON is YAML 1.2, so a JSON file reads the same way, with line and column in its issues too. (A
 * program started per call that wants JSON.parse's speed checks for `{` itself, as the validator does.)
 */
import { isMap, isNode, isScalar, LineCounter, parseDocument } from 'yaml';
import { KitError, type KitIssue } from './errors.ts';
import { describeIssues, type Locate, type PathPart } from './issues.ts';

export interface ParsedText {
  readonly value: unknown;
  /** Where a path is in the text. */
  readonly locate: Locate;
}

/** Parses YAML (or JSON) text. Throws ERR_KIT_CONFIG_SYNTAX with located issues. */
export function parseConfigText(text: string, source = '<config>'): ParsedText {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: true,
    schema: 'core',
    customTags: [],
    merge: false,
    strict: true,
  });
  const problems = [...doc.errors, ...doc.warnings];
  if (problems.length > 0) {
    syntaxError(
      source,
      problems.map((e) => {
        // e.pos is a character offset; linePos is filled in only with prettyErrors, which also puts
        // a context excerpt of the file into the message.
        const pos = lineCounter.linePos(e.pos[0]);
        return {
          path: '',
          line: pos.line,
          column: pos.col,
          message: `YAML: ${e.message.split('\n')[0]}`,
        };
      }),
    );
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 0 });
  } catch (err) {
    syntaxError(source, [{ path: '', message: `YAML: ${(err as Error).message} (aliases are not allowed)` }]);
  }
  const position = (range: readonly number[] | null | undefined) => {
    if (!range) return undefined;
    const pos = lineCounter.linePos(range[0] ?? 0);
    return { line: pos.line, column: pos.col };
  };
  const locate: Locate = (path: readonly PathPart[], key?: string) => {
    if (key !== undefined) {
      const map = doc.getIn(path, true);
      const pair = isMap(map) ? map.items.find((p) => isScalar(p.key) && p.key.value === key) : undefined;
      const at = pair && isNode(pair.key) ? position(pair.key.range) : undefined;
      if (at) return at;
    }
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true);
      const at = isNode(node) ? position(node.range) : undefined;
      if (at) return at;
    }
    return {};
  };
  return { value, locate };
}

function syntaxError(source: string, issues: KitIssue[]): never {
  throw new KitError(
    'ERR_KIT_CONFIG_SYNTAX',
    `${source}: not valid YAML/JSON\n${describeIssues(source, issues)}`,
    { file: source, issues },
  );
}
