export * from "./rules.js";
export * from "./redaction.js";
