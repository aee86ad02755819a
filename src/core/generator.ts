/**
 * Core algorithms are generators whose bare `yield`s are pause points
 * (STYLE C6). `runNow` drives one to completion synchronously (tests, CLI);
 * `runYielding` lets the event loop breathe at every pause (the server).
 */
export type Pausable<T> = Generator<void, T, void>;

export function runNow<T>(g: Pausable<T>): T {
  for (;;) {
    const r = g.next();
    if (r.done) return r.value;
  }
}

export async function runYielding<T>(g: Pausable<T>, pause: () => Promise<void>): Promise<T> {
  for (;;) {
    const r = g.next();
    if (r.done) return r.value;
    await pause();
  }
}
