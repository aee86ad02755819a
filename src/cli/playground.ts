/**
 * `zion playground [--servers 3]`: a federation of Zion servers on this machine (src/app/playground.ts), with a room
 * spanning them and a user on each; prints where everything is and runs until Ctrl-C (or SIGTERM), then stops every
 * server gracefully and exits 0. The directory (configs, keys, the throwaway CA, databases) is kept and printed.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { MAX_PLAYGROUND_SERVERS, PLAYGROUND_DOMAIN, playgroundAddresses, startPlayground } from "../app/playground.js";

interface PlaygroundFlags {
  servers: string;
  firstIp: string;
  dir?: string;
  dnsPort: string;
  logLevel: string;
}

function usage(message: string): never {
  process.stderr.write(`zion playground: ${message}\n`);
  process.exit(2);
}

export function registerPlayground(program: Command): void {
  program
    .command("playground")
    .description(`run ${PLAYGROUND_DOMAIN} servers federating on this machine, with a room spanning them (Ctrl-C stops them)`)
    .option("--servers <n>", `how many servers (2-${MAX_PLAYGROUND_SERVERS})`, "3")
    .option("--first-ip <address>", "the first server's loopback address; the others follow it", "127.0.0.11")
    .option("--dir <dir>", "where the configs, keys, certificates and databases go (default: a new folder in the temp dir)")
    .option("--dns-port <port>", "the DNS server's port on the first address (0: any free port)", "0")
    .option("--log-level <level>", "the servers' log level (trace, debug, info, warn, error)", "warn")
    .action(async (flags: PlaygroundFlags) => {
      const servers = Number(flags.servers);
      if (!/^[0-9]+$/.test(flags.servers) || servers < 2 || servers > MAX_PLAYGROUND_SERVERS) usage(`--servers must be 2 to ${MAX_PLAYGROUND_SERVERS}, not ${JSON.stringify(flags.servers)}`);
      const ips = playgroundAddresses(flags.firstIp, servers);
      if (typeof ips === "string") usage(`--first-ip: ${ips}`);
      const dnsPort = Number(flags.dnsPort);
      if (!/^[0-9]{1,5}$/.test(flags.dnsPort) || dnsPort > 65535) usage(`--dns-port must be a port number, not ${JSON.stringify(flags.dnsPort)}`);
      if (!["trace", "debug", "info", "warn", "error"].includes(flags.logLevel)) usage(`--log-level must be trace, debug, info, warn or error`);
      const dir = resolve(flags.dir ?? mkdtempSync(join(tmpdir(), "zion-playground-")));
      const out = (line = ""): boolean => process.stdout.write(`${line}\n`);

      let stopping: Promise<void> | undefined;
      let stopPlayground: (() => Promise<void>) | undefined;
      const onSignal = (): void => {
        if (stopping) process.exit(1); // a second Ctrl-C: now
        out("stopping the playground ...");
        stopping = (stopPlayground?.() ?? Promise.resolve()).then(() => {
          out(`stopped; everything is kept in ${dir}`);
          process.exit(0);
        }, (e: unknown) => {
          process.stderr.write(`zion playground: error while stopping: ${e instanceof Error ? e.message : String(e)}\n`);
          process.exit(1);
        });
      };
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);

      out(`directory: ${dir}`);
      let pg;
      try {
        pg = await startPlayground({ servers, firstIp: flags.firstIp, dir, dnsPort, logLevel: flags.logLevel }, (line) => out(line));
      } catch (e) {
        process.stderr.write(`zion playground: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exit(1);
      }
      stopPlayground = pg.stop;
      if (stopping) return; // Ctrl-C during start-up: onSignal is already stopping (and will find pg.stop too late)
      out();
      out(`The room ${pg.room.alias} (${pg.room.roomId}) spans ${pg.servers.length} servers:`);
      for (const s of pg.servers) {
        out(`  ${s.name}`);
        out(`    client API   ${s.clientUrl}   (log in as ${s.user.userId}, password ${s.user.password})`);
        out(`    access token ${s.user.accessToken}`);
        out(`    federation   ${s.federationUrl}`);
        out(`    config       ${s.configPath}`);
      }
      out();
      out(`CA certificate: ${pg.caPath}   DNS server: ${pg.dns}   summary: ${join(dir, "playground.json")}`);
      const [a, b] = pg.servers;
      out(`Try: npx zion federation-test ${b!.name} -c ${a!.configPath}`);
      out(`     curl -H 'Authorization: Bearer ${a!.user.accessToken}' '${a!.clientUrl}/_matrix/client/v3/rooms/${encodeURIComponent(pg.room.roomId)}/joined_members'`);
      out();
      out("ready: the playground is running; Ctrl-C stops it");
    });
}
