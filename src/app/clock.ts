/** The real clock, in a module of its own so that CLI commands can take it without loading the whole server. */
import type { Clock } from "../core/clock.js";

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};
