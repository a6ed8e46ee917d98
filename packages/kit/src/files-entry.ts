// `@netward/kit/files`: the private-file checks and local accounts alone, with no YAML or zod behind
// them, for the publishable TACACS+ library and the per-call validator. The names are those of
// `@netward/kit` (see index.ts).
export * from './accounts.ts';
export * from './errors.ts';
export * from './files.ts';
