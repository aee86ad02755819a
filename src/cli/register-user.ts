/**
 * `zion register-user -c homeserver.yaml -u NAME -p PASSWORD [-a | --no-admin] [server_url]`: like Synapse's
 * register_new_matrix_user, registers a user through the running server's shared-secret endpoint (app/register-user.ts).
 * The secret comes from -k or the config's registration_shared_secret(_path); the URL from the argument or the
 * config's client listener. Exit 0 registered (or existed, with --exists-ok), 1 refused or unreachable, 2 usage.
 */
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { ConfigError, loadConfigWithWarnings, type HomeserverConfig } from "../config/index.js";
import { clientUrlOf, registerUser, sharedSecretFromConfig } from "../app/register-user.js";
import { StartupError } from "../app/errors.js";

interface Flags {
  config?: string;
  sharedSecret?: string;
  user?: string;
  password?: string;
  passwordFile?: string;
  userType?: string;
  admin?: boolean;
  existsOk?: boolean;
}

function usage(msg: string): never {
  process.stderr.write(`zion register-user: ${msg}\n`);
  process.exit(2);
}

export function registerRegisterUser(program: Command): void {
  program
    .command("register-user")
    .description("register a user on a running server with its registration_shared_secret (like Synapse's register_new_matrix_user)")
    .argument("[server_url]", "the server's client API URL (default: the config's client listener)")
    .option("-c, --config <file>", "homeserver.yaml: the shared secret and the client listener")
    .option("-k, --shared-secret <secret>", "the shared secret (instead of reading it from the config)")
    .option("-u, --user <localpart>", "the new user's localpart")
    .option("-p, --password <password>", "the new user's password")
    .option("--password-file <file>", "read the password from this file (first line)")
    .option("-t, --user-type <type>", "user type, as Synapse's user_type")
    .option("-a, --admin", "make the user a server admin")
    .option("--no-admin", "make the user a regular user (the default)")
    .option("--exists-ok", "succeed if the user exists already (it is not changed)")
    .action(async (serverUrl: string | undefined, flags: Flags) => {
      let config: HomeserverConfig | undefined;
      if (flags.config) {
        try {
          config = loadConfigWithWarnings(flags.config).config;
        } catch (e) {
          if (e instanceof ConfigError) usage(e.message);
          throw e;
        }
      }
      if (!config && !flags.sharedSecret) usage("give -c homeserver.yaml or -k SHARED_SECRET");
      let secret = flags.sharedSecret;
      try {
        secret ??= config && sharedSecretFromConfig(config);
      } catch (e) {
        if (e instanceof StartupError) usage(e.message);
        throw e;
      }
      if (!secret) usage("the config sets neither registration_shared_secret nor registration_shared_secret_path");
      if (!flags.user) usage("give the new user's localpart with -u");
      let password = flags.password;
      if (flags.passwordFile) password = readFileSync(flags.passwordFile, "utf8").split("\n")[0]!.trim();
      if (!password) usage("give the password with -p or --password-file");
      const url = serverUrl ?? (config && clientUrlOf(config)) ?? "http://localhost:8008";
      const r = await registerUser({ serverUrl: url, sharedSecret: secret, username: flags.user, password, admin: flags.admin === true, userType: flags.userType, existsOk: flags.existsOk === true });
      if (!r.ok) {
        process.stderr.write(`zion register-user: ${r.reason}\n`);
        process.exit(1);
      }
      process.stdout.write(r.existed ? `User ${flags.user} exists already; not changed.\n` : `Registered ${r.userId}.\n`);
    });
}
