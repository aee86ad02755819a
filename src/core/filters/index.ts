export * from "./filter.js";
export * from "./match.js";
