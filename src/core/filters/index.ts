export * from "./filter.js";
export * from "./match.js";
export * from "./query.js";
