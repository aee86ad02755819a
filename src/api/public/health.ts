/** GET /health: 200 "OK" once the server is ready (routes are mounted only after storage is open). */
import { defineRoute, HttpResponse } from "../http/index.js";

export const getHealth = defineRoute({
  method: "GET",
  path: "/health",
  auth: "none",
  resource: "public",
  cors: false,
  handle: () => HttpResponse.text(200, "OK"),
});
