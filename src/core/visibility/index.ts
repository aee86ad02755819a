export * from "./history-visibility.js";
