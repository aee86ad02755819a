#!/usr/bin/env node
/** The `zion` executable: commands only; the work is in app/ and tester/. */
import { Command } from "commander";
import { registerDebugCommands } from "./debug/index.js";
import { registerGenerateConfig } from "./generate-config.js";
import { registerStart } from "./start.js";
import { registerFederationTest } from "./federation-test.js";
import { registerDoctor } from "./doctor.js";

const program = new Command();
program.name("zion").description("Zion, a Matrix homeserver whose heart is federation").version("0.1.0");
registerStart(program);
registerGenerateConfig(program);
registerDebugCommands(program);
registerFederationTest(program);
registerDoctor(program);

await program.parseAsync(process.argv);
