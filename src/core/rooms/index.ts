export * from "./create-room.js";
export * from "./upgrade-room.js";
export * from "./stripped-state.js";
