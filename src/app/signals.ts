/** SIGTERM / SIGINT: a graceful stop (finish in-flight requests, close the database), then exit 0. */
import type { Homeserver } from "./homeserver.js";

export function stopOnSignals(server: Homeserver, exit: (code: number) => void = (c) => process.exit(c)): void {
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) {
      server.logger.warn({ signal }, "second signal: exiting now");
      exit(1);
      return;
    }
    signalled = true;
    server.logger.info({ signal }, "signal received: stopping");
    server.stop().then(
      () => exit(0),
      (e: unknown) => {
        server.logger.error({ err: e }, "error while stopping");
        exit(1);
      },
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}
