/** pid_file: written once the listeners are bound, removed at stop. */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { StartupError, errnoCode } from "./errors.js";

export function writePidFile(path: string): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, `${process.pid}\n`);
  } catch (e) {
    throw new StartupError([`pid_file: cannot write ${path}: ${errnoCode(e)}`]);
  }
}

export function removePidFile(path: string): void {
  rmSync(path, { force: true });
}
