/** Structured JSON logs (pino) on stdout; the level comes from log_level / log_config. */
import { pino, type Logger, type DestinationStream } from "pino";
import type { LogLevel } from "../config/index.js";

export type { Logger };

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
