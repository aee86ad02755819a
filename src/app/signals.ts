/**
 * SIGTERM / SIGINT: a graceful stop (finish in-flight requests, close the
 * database), then exit 0. The handlers are installed before start-up begins,
 * so a signal that arrives while the server is still starting is not lost:
 * the server stops as soon as it is up (a failed start-up exits on its own).
 */
import type { Homeserver } from "./homeserver.js";

export interface StopSignals {
  /** Hands over the started server; stops it at once if a signal came during start-up. */
  attach(server: Homeserver): void;
}

export function handleStopSignals(exit: (code: number) => void = (c) => process.exit(c)): StopSignals {
  let server: Homeserver | undefined;
  let signalled: NodeJS.Signals | undefined;
  const stop = (s: Homeserver): void => {
    s.logger.info({ signal: signalled }, "signal received: stopping");
    s.stop().then(
      () => exit(0),
      (e: unknown) => {
        s.logger.error({ err: e }, "error while stopping");
        exit(1);
      },
    );
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) {
      server?.logger.warn({ signal }, "second signal: exiting now");
      exit(1);
      return;
    }
    signalled = signal;
    if (server) stop(server);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  return {
    attach(s) {
      server = s;
      if (signalled) stop(s);
    },
  };
}

/** Installs the handlers for an already started server. */
export function stopOnSignals(server: Homeserver, exit?: (code: number) => void): void {
  handleStopSignals(exit).attach(server);
}
