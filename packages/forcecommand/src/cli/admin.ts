// Operator commands: check-config, render-config, render-sshd, install. See README "Deployment".
export async function runAdmin(argv: readonly string[]): Promise<number> {
  console.error(`not yet: ${argv[0]}`);
  return 2;
}
