// `@netward/kit/validate`: schema validation, the issue format and deep freeze, without the YAML parser:
// for the per-call validator, which reads JSON and loads the YAML half (`@netward/kit`) only when a
// configuration is YAML. The names are those of `@netward/kit` (see index.ts).
export * from './errors.ts';
export * from './freeze.ts';
export * from './issues.ts';
