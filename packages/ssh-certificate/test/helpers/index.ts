// `@netward/ssh-certificate/testing`: what the codec's tests and the broker's share (OpenSSH's own
// tools, the weak-key vectors, bundle inspection). Source only: never built into dist/.
export { bundleInputs } from './bundle.ts';
export * from './openssh.ts';
export { keyLine, NON_CANONICAL, SMALL_ORDER } from './weak-keys.ts';
