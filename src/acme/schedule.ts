/**
 * Renewal policy as pure functions of time: when a certificate is due, how long to wait after a failure, and when
 * a failing renewal deserves a warning. The manager feeds them the injected clock.
 */

/** Renew at two thirds of the lifetime: 60 days into a 90-day certificate, 4 days into a 6-day one. */
export function renewalDueAt(notBefore: number, notAfter: number): number {
  return notBefore + Math.floor(((notAfter - notBefore) * 2) / 3);
}

/**
 * Delay before retry number `failures` (1 = after the first failure): exponential from `minMs`, capped at `maxMs`,
 * then jittered to between 50 % and 150 % so that many servers restarted together do not hit the CA in step.
 */
export function retryDelay(failures: number, random: () => number, minMs: number, maxMs: number): number {
  const exp = Math.min(maxMs, minMs * 2 ** Math.max(0, Math.min(failures - 1, 30)));
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.max(1, Math.round(exp * (0.5 + r)));
}

/** True when renewal is failing and the certificate (if any) expires within `warnDays`. */
export function renewalWarning(now: number, notAfter: number | undefined, failures: number, warnDays: number): boolean {
  if (failures === 0) return false;
  if (notAfter === undefined) return true;
  return notAfter - now < warnDays * 86_400_000;
}

/**
 * When the loop should next order. `dueAt` is when the current certificate falls due (now when there is none, or it
 * no longer covers the wanted names); after failures the back-off time `retryAt` is the earliest. A certificate can
 * be due the moment it arrives (a very short lifetime, or a CA whose clock is behind ours): then the next order waits
 * at least `minIntervalMs` after the last success, so the loop never orders in a tight circle against the CA.
 */
export function nextOrderAt(p: {
  readonly dueAt: number;
  readonly retryAt: number | undefined;
  readonly lastSuccessAt: number | undefined;
  readonly minIntervalMs: number;
  /** False when the current certificate must be replaced now (missing, wrong names, other directory). */
  readonly keepCurrent: boolean;
}): number {
  let at = p.retryAt !== undefined ? Math.max(p.dueAt, p.retryAt) : p.dueAt;
  if (p.keepCurrent && p.lastSuccessAt !== undefined) at = Math.max(at, p.lastSuccessAt + p.minIntervalMs);
  return at;
}
