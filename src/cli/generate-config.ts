/** `zion generate-config --server-name NAME --config-path FILE [--data-dir DIR]` */
import { dirname, resolve } from "node:path";
import type { Command } from "commander";
import { StartupError } from "../app/errors.js";
import { generateConfig } from "../app/generate-config.js";

interface Flags {
  serverName: string;
  configPath: string;
  dataDir?: string;
  clientPort?: string;
  federationPort?: string;
  bindAddress?: string[];
  publicBaseurl?: string;
}

export function registerGenerateConfig(program: Command): void {
  program
    .command("generate-config")
    .description("write a commented homeserver.yaml, a new signing key and a self-signed certificate")
    .requiredOption("--server-name <name>", "the server name (the domain in @user:name)")
    .requiredOption("--config-path <file>", "where to write homeserver.yaml (an existing file is never overwritten)")
    .option("--data-dir <dir>", "where the key, certificate, database and media go (default: the config file's folder)")
    .option("--client-port <port>", "client API listener port (default 8008)")
    .option("--federation-port <port>", "federation TLS listener port (default 8448)")
    .option("--bind-address <address...>", "listener addresses (default 127.0.0.1)")
    .option("--public-baseurl <url>", "public_baseurl (default https://<server name>/)")
    .action((flags: Flags) => {
      const ports: Record<string, number> = {};
      for (const [name, v] of [["clientPort", flags.clientPort], ["federationPort", flags.federationPort]] as const) {
        if (v === undefined) continue;
        if (!/^[0-9]{1,5}$/.test(v) || Number(v) > 65535) {
          process.stderr.write(`zion: ${JSON.stringify(v)} is not a port number\n`);
          process.exit(2);
        }
        ports[name] = Number(v);
      }
      try {
        const r = generateConfig(flags.configPath, {
          serverName: flags.serverName,
          dataDir: flags.dataDir ?? dirname(resolve(flags.configPath)),
          ...ports,
          ...(flags.bindAddress ? { bindAddresses: flags.bindAddress } : {}),
          ...(flags.publicBaseurl ? { publicBaseurl: flags.publicBaseurl } : {}),
        });
        for (const f of r.created) process.stdout.write(`created ${f}\n`);
        process.stdout.write(`start it with: zion start -c ${r.configPath}\n`);
      } catch (e) {
        if (e instanceof StartupError) {
          process.stderr.write(`zion: ${e.message}\n`);
          process.exit(1);
        }
        throw e;
      }
    });
}
