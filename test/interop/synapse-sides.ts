/**
 * The two `Side`s (./room-sides.ts) of a Zion and Synapse pair: Zion's users registered through its open registration
 * and called on its plain client listener, Synapse's registered through its shared-secret admin API. Each takes a
 * getter for its server, so a scenario that stops and starts a server keeps using the same Side.
 */
import assert from "node:assert/strict";
import { clientCaller } from "../harness/http-get.js";
import type { TestServer } from "../harness/server.js";
import type { SynapseHandle } from "../harness/synapse.js";
import type { Body, Side } from "./room-sides.js";

export function zionSide(server: () => TestServer, serverName: string): Side {
  const call = clientCaller(() => server().clientUrl!);
  return {
    label: "zion",
    serverName,
    async register(username) {
      const r = await call("POST", "/_matrix/client/v3/register", { username, password: "pw-123456", auth: { type: "m.login.dummy" } });
      assert.equal(r.status, 200, r.body);
      return { userId: r.json()["user_id"] as string, token: r.json()["access_token"] as string };
    },
    async call(method, path, token, body) {
      const r = await call(method, path, body, token);
      let json: Body = {};
      try { json = r.json(); } catch { /* not JSON */ }
      return { status: r.status, json, text: r.body };
    },
    logTail: () => "",
  };
}

export function synapseSide(handle: () => SynapseHandle): Side {
  return {
    label: "synapse",
    serverName: handle().serverName,
    async register(username) {
      const u = await handle().registerUser({ username });
      return { userId: u.userId, token: u.accessToken };
    },
    async call(method, path, token, body) {
      const r = await handle().client(method, path, { token, ...(body !== undefined ? { body } : {}) });
      return { status: r.status, json: (r.json ?? {}) as Body, text: r.text };
    },
    logTail: () => handle().logTail(30),
  };
}
