export * from "./rules.js";
export * from "./ruleset.js";
export * from "./evaluate.js";
export { compileGlob } from "./glob.js";
export type { CompiledGlob, GlobOptions } from "./glob.js";
