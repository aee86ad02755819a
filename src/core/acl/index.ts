export * from "./server-acl.js";
