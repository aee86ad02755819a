/**
 * `zion start -c homeserver.yaml` runs the server; `zion start` with no config
 * runs the development server for localhost (data in ./data). Any config or
 * start-up problem is printed on stderr with its key path, and the process
 * exits 1 before binding a port.
 */
import { setFlagsFromString } from "node:v8";
import type { Command } from "commander";
import { ConfigError, loadConfigWithWarnings } from "../config/index.js";
import { devConfig } from "../app/dev.js";
import { StartupError } from "../app/errors.js";
import { startHomeserver } from "../app/homeserver.js";
import { createLogger } from "../app/logger.js";
import { handleStopSignals } from "../app/signals.js";

function port(value: string): number {
  const n = Number(value);
  if (!/^[0-9]{1,5}$/.test(value) || n > 65535) {
    process.stderr.write(`zion: ${JSON.stringify(value)} is not a port number\n`);
    process.exit(2);
  }
  return n;
}

interface StartFlags {
  config?: string;
  dataDir?: string;
  clientPort?: number;
  federationPort?: number;
  bind?: string;
  logLevel?: string;
}

export function registerStart(program: Command): void {
  program
    .command("start")
    .description("run the homeserver (with no -c: a development server for localhost, data in ./data)")
    .option("-c, --config <file>", "the homeserver.yaml to run")
    .option("--data-dir <dir>", "development server only: where its key, certificate and database go (default ./data)")
    .option("--client-port <port>", "development server only: client API port (default 8008)", port)
    .option("--federation-port <port>", "development server only: federation TLS port (default 8448)", port)
    .option("--bind <address>", "development server only: address to listen on (default 127.0.0.1)")
    .option("--log-level <level>", "development server only: trace, debug, info, warn or error")
    .action(async (flags: StartFlags) => {
      await runStart(flags);
    });
}

async function runStart(flags: StartFlags): Promise<void> {
  const signals = handleStopSignals();
  // Start-up allocates in one burst (compiling modules); V8 would answer by growing the young generation to
  // several times what an idle server needs, and keep it for tens of seconds. Hold its growth during start-up
  // and restore the default once serving, so idle memory reflects what the server holds.
  setFlagsFromString("--semi-space-growth-factor=1");
  try {
    let loaded;
    if (flags.config) {
      loaded = loadConfigWithWarnings(flags.config);
    } else {
      const dev = devConfig({
        ...(flags.dataDir !== undefined ? { dataDir: flags.dataDir } : {}),
        ...(flags.clientPort !== undefined ? { clientPort: flags.clientPort } : {}),
        ...(flags.federationPort !== undefined ? { federationPort: flags.federationPort } : {}),
        ...(flags.bind !== undefined ? { bindAddress: flags.bind } : {}),
        ...(flags.logLevel !== undefined ? { logLevel: flags.logLevel } : {}),
      });
      for (const f of dev.created) process.stderr.write(`zion: created ${f}\n`);
      loaded = dev;
    }
    for (const w of loaded.warnings) process.stderr.write(`zion: warning: ${w}\n`);
    const logger = createLogger(loaded.config.log_level);
    for (const w of loaded.warnings) logger.warn({ config: true }, w);
    if (!flags.config) {
      logger.info("no config given: running the development server for localhost (see `zion start --help`)");
    }
    // The tester's routes (and its imports) only when federation_tester.enabled.
    const tester = loaded.config.federation_tester.enabled ? (await import("../app/federation-tester.js")).federationTesterServerOptions(loaded.config) : {};
    const server = await startHomeserver(loaded.config, { logger, ...tester });
    setFlagsFromString("--semi-space-growth-factor=2");
    signals.attach(server);
    for (const w of server.warnings) process.stderr.write(`zion: WARNING: ${w}\n`);
    if (!flags.config) {
      const client = server.baseUrl("client");
      const federation = server.baseUrl("federation");
      process.stderr.write(
        `zion: development server for "localhost" is up: client API ${client}, federation ${federation} (self-signed certificate), data in ${loaded.config.config_dir}; Ctrl-C stops it\n`,
      );
    }
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`zion: configuration error in ${e.file}:\n${e.problems.map((p) => `  - ${p}\n`).join("")}`);
      process.exit(1);
    }
    if (e instanceof StartupError) {
      process.stderr.write(`zion: cannot start:\n${e.problems.map((p) => `  - ${p}\n`).join("")}`);
      process.exit(1);
    }
    throw e;
  }
}
