/**
 * Makes matrix-js-sdk quiet and prompt to exit in tests; importing this module is enough (test/harness/crypto-client.ts
 * does, and so can any test that uses the SDK without crypto).
 *
 * Exit: matrix-js-sdk's `timeoutSignal` (lib/http-api/utils.js) arms a `setTimeout` of the request's `localTimeoutMs`
 * for every request and never clears it, not when the response arrives and not when `stopClient()` aborts the
 * request. Each /sync arms pollTimeout + 80 s, each Rust-crypto request (keys/upload, keys/query, to-device, ...)
 * 60 s, so a test file's process lived 60-110 s past its last test. `unrefSdkRequestTimeouts()` (run when this
 * module loads) marks exactly those timers unref'd: they still fire while the process runs, but no longer hold it.
 * The same for the Rust crypto's wait for an encrypted live event to be decrypted (`onLiveEventFromSync` in
 * lib/rust-crypto/rust-crypto.js, 5 minutes, cleared only when the event decrypts): a client that syncs an event it
 * can never decrypt (a test's made-up ciphertext) kept the process alive for 5 minutes.
 *
 * Logs: the SDK logs every request at debug through its global loglevel logger; ZION_SDK_LOG (trace, debug, info,
 * warn, error; default error) sets the level of that logger, of its children, and of `sdkLogger()`.
 */
import { logger as sdkGlobalLogger, type Logger } from "matrix-js-sdk/lib/logger.js";

/** Set ZION_SDK_LOG=debug (or info, warn) to see the SDK's and the Rust crypto's logs; errors always show. */
export const LOG_LEVEL = process.env["ZION_SDK_LOG"] ?? "error";
const LEVELS = ["trace", "debug", "info", "warn", "error"] as const;

/** A logger for createClient({ logger }) at the chosen level, each line prefixed. */
export function sdkLogger(prefix: string): Logger {
  const min = Math.max(0, LEVELS.indexOf(LOG_LEVEL as (typeof LEVELS)[number]));
  const at = (i: number) => (i >= min ? (...msg: unknown[]) => console.error(`[${prefix}]`, ...msg) : () => {});
  return { trace: at(0), debug: at(1), info: at(2), warn: at(3), error: at(4), getChild: (ns: string) => sdkLogger(`${prefix} ${ns}`) };
}

/**
 * Much of the SDK logs through its global loglevel logger, not the client's, and each child it makes sets itself to
 * debug: give them all the chosen level.
 */
type LevelledLogger = Logger & { setLevel(level: string): void };
function levelled(l: LevelledLogger): LevelledLogger {
  l.setLevel(LOG_LEVEL);
  const getChild = l.getChild.bind(l);
  l.getChild = (ns: string) => levelled(getChild(ns) as LevelledLogger);
  return l;
}
levelled(sdkGlobalLogger as unknown as LevelledLogger);

let timersPatched = false;
/**
 * Unrefs the timers matrix-js-sdk's `timeoutSignal` and the Rust crypto's decryption wait arm (see the file comment);
 * other timers are untouched. Only a
 * timer of 10 s or more pays for the stack check, so ordinary timers cost nothing extra.
 */
export function unrefSdkRequestTimeouts(): void {
  if (timersPatched) return;
  timersPatched = true;
  const original = globalThis.setTimeout;
  const patched = function (this: unknown, callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) {
    const timer = original(callback, ms, ...args);
    if (typeof ms === "number" && ms >= 10_000) {
      const stack = new Error().stack ?? "";
      // lib/http-api/utils.js, or src/http-api/utils.ts under --enable-source-maps (the SDK ships its maps)
      if (/at timeoutSignal \(.*matrix-js-sdk[\\/](lib|src)[\\/]http-api[\\/]utils\.[jt]s:/.test(stack)) timer.unref();
      // lib/rust-crypto/rust-crypto.js (src/rust-crypto/rust-crypto.ts under source maps): onLiveEventFromSync's wait
      else if (ms >= 60_000 && /matrix-js-sdk[\\/](lib|src)[\\/]rust-crypto[\\/]rust-crypto\.[jt]s:/.test(stack)) timer.unref();
    }
    return timer;
  };
  Object.defineProperties(patched, Object.getOwnPropertyDescriptors(original));
  globalThis.setTimeout = patched as typeof globalThis.setTimeout;
}
unrefSdkRequestTimeouts();
