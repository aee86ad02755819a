export * from "./create-room.js";
export * from "./upgrade-room.js";
