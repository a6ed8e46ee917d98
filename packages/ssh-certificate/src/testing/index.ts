// `@netward/ssh-certificate/testing`: what the codec's tests and the broker's share: OpenSSH's own tools
// (ssh-keygen, its listing of a certificate) and the weak-key vectors both refuse. Built into
// dist/testing.js with declarations, like every other entry; node built-ins only.
export * from './openssh.ts';
export { keyLine, NON_CANONICAL, SMALL_ORDER } from './weak-keys.ts';
