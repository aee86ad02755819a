#!/usr/bin/env node
/**
 * The `zion` executable: commands only; the work is in app/ and tester/.
 * Each command group's module is loaded only when that group runs (or for
 * help), so `zion start` does not pay for the tester's or the debug tools'
 * imports: start-up time and idle memory are part of the product.
 */
import { Command } from "commander";

type Register = (program: Command) => void;

const GROUPS: Record<string, () => Promise<Register>> = {
  start: async () => (await import("./start.js")).registerStart,
  "generate-config": async () => (await import("./generate-config.js")).registerGenerateConfig,
  debug: async () => (await import("./debug/index.js")).registerDebugCommands,
  "federation-test": async () => (await import("./federation-test.js")).registerFederationTest,
  doctor: async () => (await import("./doctor.js")).registerDoctor,
  "register-user": async () => (await import("./register-user.js")).registerRegisterUser,
  admin: async () => (await import("./admin.js")).registerAdmin,
  playground: async () => (await import("./playground.js")).registerPlayground,
};

const program = new Command();
program.name("zion").description("Zion, a Matrix homeserver whose heart is federation").version("0.1.0");
const wanted = process.argv[2];
const only = wanted !== undefined && wanted in GROUPS ? [wanted] : Object.keys(GROUPS);
for (const name of only) (await GROUPS[name]!())(program);

await program.parseAsync(process.argv);
