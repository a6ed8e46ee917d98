// The wire codec, public as the `@netward/tacacs-plus/protocol` subpath: pure functions and the
// streaming framer, for tests, tools and anyone who needs the packets without the client.
export * from './accounting.ts';
export * from './authentication.ts';
export * from './authorization.ts';
export * from './constants.ts';
export * from './framer.ts';
export * from './header.ts';
export * from './obfuscation.ts';
export * from './packet.ts';
export { BodyReader } from './reader.ts';
export { BodyWriter, type FieldValue, fieldBytes } from './writer.ts';
