/** Shared plumbing for debug commands: read stdin, fail with exit 2. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** A usage or input error: one line on stderr, exit code 2. */
export function failUsage(reason: string): never {
  process.stderr.write(`${reason.replace(/\n/g, " ")}\n`);
  process.exit(2);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
