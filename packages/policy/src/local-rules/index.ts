// `@netward/policy/local-rules`: what the ForceCommand validator needs to decide with a local rules file,
// and nothing that loads full zod or yaml (test/local-rules-lean.test.ts bundles it and checks). The main
// entry re-exports the same functions.
export { commandString } from '../decide.ts';
export {
  COMMAND_CLASSES,
  type CommandClass,
  GRAMMAR_FILE_VERSION,
  type GrammarMatch,
  type GrammarSet,
  type Grammars,
  matchGrammar,
  parseGrammarFile,
} from '../grammar/file.ts';
export type { Decision, Rule } from '../types.ts';
export { decideLocal, LOCAL_RULES_VERSION, type LocalRules, parseLocalRules } from './rules.ts';
