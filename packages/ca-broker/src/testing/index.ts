// `@netward/ca-broker/testing`: a real broker in process for other packages' tests (the lab's OpenBao
// test drives the vault backend through it) and this package's own: the broker on a local or given
// backend with its audit lines captured, a stand-in IdP publishing a JWKS, and claims and requests as
// the MCP server sends them. Built into dist/testing.js with declarations, like every other entry.
export * from './broker.ts';
export * from './hand-offs.ts';
export * from './idp.ts';
