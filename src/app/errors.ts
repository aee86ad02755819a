/** A problem found before any port is bound: the CLI prints it and exits non-zero. */
export class StartupError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.length === 1 ? problems[0]! : problems.map((p) => `- ${p}`).join("\n"));
    this.name = "StartupError";
  }
}

export function errnoCode(e: unknown): string {
  return (e as NodeJS.ErrnoException | undefined)?.code ?? String(e);
}
