export * from "./create-room.js";
