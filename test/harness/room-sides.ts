/**
 * Both ends of a federated room scenario, seen through the client-server API only: a `Side` is a homeserver (Zion,
 * Synapse or Dendrite) with a way to register a user and to call its client API. The scenario files
 * (rooms-synapse.test.ts, rooms-dendrite.test.ts) drive both servers through the same helpers, so what is asserted of
 * one direction is asserted of the other.
 */
import assert from "node:assert/strict";
import { clientCaller } from "./http-get.js";
import type { PeerHandle } from "./peer-process.js";
import type { TestServer } from "./server.js";

export type Body = Record<string, unknown>;
export interface Reply { readonly status: number; readonly json: Body; readonly text: string }
export interface SideUser { readonly userId: string; readonly token: string }

export interface Side {
  /** "zion", "synapse" or "dendrite", for assertion messages. */
  readonly label: string;
  readonly serverName: string;
  /** The base URL of its client-server API (for matrix-js-sdk clients). */
  readonly clientUrl: string;
  register(username: string): Promise<SideUser>;
  call(method: string, path: string, token: string, body?: unknown): Promise<Reply>;
  /** The log tail for assertion messages (empty when the side keeps none). */
  logTail(): string;
}

export const enc = encodeURIComponent;

/**
 * Zion as a side: users registered through open registration (m.login.dummy), calls to its client listener. Given a
 * getter, every call reads the current server, so a scenario that stops and starts Zion keeps using the same side.
 */
export function zionSide(server: TestServer | (() => TestServer), serverName: string): Side {
  const z = typeof server === "function" ? server : () => server;
  const call = clientCaller(() => z().clientUrl);
  return {
    label: "zion",
    serverName,
    get clientUrl() {
      return z().clientUrl!;
    },
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

/**
 * A Synapse or Dendrite peer as a side: users registered through the shared-secret admin endpoint, its log tail in
 * failures. Given a getter, every call reads the current handle (a scenario may stop and start the peer).
 */
export function peerSide(label: "synapse" | "dendrite", peer: PeerHandle | (() => PeerHandle)): Side {
  const p = typeof peer === "function" ? peer : () => peer;
  return {
    label,
    serverName: p().serverName,
    get clientUrl() {
      return p().clientUrl;
    },
    async register(username) {
      const u = await p().registerUser({ username });
      return { userId: u.userId, token: u.accessToken };
    },
    async call(method, path, token, body) {
      const r = await p().client(method, path, { token, ...(body !== undefined ? { body } : {}) });
      return { status: r.status, json: (r.json ?? {}) as Body, text: r.text };
    },
    logTail: () => p().logTail(30),
  };
}

/** The Synapse peer as a side. */
export const synapseSide = (peer: PeerHandle | (() => PeerHandle)): Side => peerSide("synapse", peer);

/** A 200 reply's body; anything else fails with the status, the body and the side's log tail. */
export async function ok(side: Side, method: string, path: string, token: string, body?: unknown): Promise<Body> {
  const r = await side.call(method, path, token, body);
  assert.equal(r.status, 200, `${side.label} ${method} ${path}: ${r.status} ${r.text}\n${side.logTail()}`);
  return r.json;
}

/** Polls `probe` until it returns a value other than undefined (60 s by default, for a loaded CI machine). */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) assert.fail(`${what}: not within ${timeoutMs} ms${last ? ` (last error: ${String(last)})` : ""}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

let txn = 0;
export async function sendText(side: Side, user: SideUser, roomId: string, body: string): Promise<string> {
  const r = await ok(side, "PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/t${Date.now()}-${txn++}`, user.token, { msgtype: "m.text", body });
  return r["event_id"] as string;
}

export async function setState(side: Side, user: SideUser, roomId: string, type: string, content: Body, stateKey = ""): Promise<string> {
  const r = await ok(side, "PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/state/${enc(type)}/${enc(stateKey)}`, user.token, content);
  return r["event_id"] as string;
}

/** The state event's content as `side` holds it now, or undefined when it has none (404). */
export async function stateContent(side: Side, user: SideUser, roomId: string, type: string, stateKey = ""): Promise<Body | undefined> {
  const r = await side.call("GET", `/_matrix/client/v3/rooms/${enc(roomId)}/state/${enc(type)}/${enc(stateKey)}`, user.token);
  return r.status === 200 ? r.json : undefined;
}

/** Waits until `side` holds state whose content satisfies `pred`. */
export function seeState(side: Side, user: SideUser, roomId: string, type: string, pred: (c: Body) => boolean, stateKey = ""): Promise<Body> {
  return eventually(`${type}/${stateKey} as wanted at ${side.label}`, async () => {
    const c = await stateContent(side, user, roomId, type, stateKey);
    return c !== undefined && pred(c) ? c : undefined;
  });
}

/** Waits until `side` serves the event (GET /rooms/{roomId}/event/{eventId}). */
export function seeEvent(side: Side, user: SideUser, roomId: string, eventId: string): Promise<Body> {
  return eventually(`${eventId} at ${side.label}`, async () => {
    const r = await side.call("GET", `/_matrix/client/v3/rooms/${enc(roomId)}/event/${enc(eventId)}`, user.token);
    return r.status === 200 ? r.json : undefined;
  });
}

/** The joined members as `side` lists them (GET /joined_members), sorted. */
export async function joinedMembers(side: Side, user: SideUser, roomId: string): Promise<string[]> {
  const r = await ok(side, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/joined_members`, user.token);
  return Object.keys(r["joined"] as Body).sort();
}

export function seeMembers(side: Side, user: SideUser, roomId: string, want: readonly string[]): Promise<string[]> {
  const sorted = [...want].sort();
  return eventually(`members ${sorted.join(",")} at ${side.label}`, async () => {
    const got = await joinedMembers(side, user, roomId);
    return JSON.stringify(got) === JSON.stringify(sorted) ? got : undefined;
  });
}

/** `userId`'s membership in the room as `side` holds it now. */
export async function membershipOf(side: Side, user: SideUser, roomId: string, userId: string): Promise<string | undefined> {
  return (await stateContent(side, user, roomId, "m.room.member", userId))?.["membership"] as string | undefined;
}

export function seeMembership(side: Side, user: SideUser, roomId: string, userId: string, membership: string): Promise<Body> {
  return seeState(side, user, roomId, "m.room.member", (c) => c["membership"] === membership, userId);
}

/**
 * Every m.room.message body of the room, oldest first, read by paging `/messages` backwards from the end until the
 * server has no more (`end` absent or no chunk); `pageSize` per request.
 */
export async function allMessageBodies(side: Side, user: SideUser, roomId: string, pageSize = 50): Promise<{ bodies: string[]; pages: number }> {
  const bodies: string[] = [];
  let from: string | undefined;
  let pages = 0;
  for (;;) {
    const q = `dir=b&limit=${pageSize}${from !== undefined ? `&from=${enc(from)}` : ""}`;
    const r = await ok(side, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/messages?${q}`, user.token);
    pages++;
    const chunk = (r["chunk"] ?? []) as { type: string; content: Body }[];
    for (const e of chunk) if (e.type === "m.room.message") bodies.push(String(e.content["body"]));
    const end = r["end"] as string | undefined;
    if (end === undefined || chunk.length === 0) break;
    from = end;
    if (pages > 1000) assert.fail(`${side.label}: /messages did not end after 1000 pages`);
  }
  return { bodies: bodies.reverse(), pages };
}

/** Waits until the room's message bodies at `side` end with `want`, in that order. */
export function seeBodies(side: Side, user: SideUser, roomId: string, want: readonly string[]): Promise<string[]> {
  return eventually(`messages ${want.join(",")} at ${side.label}`, async () => {
    const r = await ok(side, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/messages?dir=b&limit=${want.length + 20}`, user.token);
    const bodies = ((r["chunk"] ?? []) as { type: string; content: Body }[]).filter((e) => e.type === "m.room.message").map((e) => String(e.content["body"])).reverse();
    const tail = bodies.slice(-want.length);
    return JSON.stringify(tail) === JSON.stringify(want) ? bodies : undefined;
  });
}

/** Joins by ID or alias, naming `via` servers for an ID. */
export async function join(side: Side, user: SideUser, roomIdOrAlias: string, via: readonly string[] = []): Promise<string> {
  const q = via.length ? `?${via.map((s) => `server_name=${enc(s)}`).join("&")}` : "";
  const r = await ok(side, "POST", `/_matrix/client/v3/join/${enc(roomIdOrAlias)}${q}`, user.token, {});
  return r["room_id"] as string;
}

export async function createRoom(side: Side, user: SideUser, body: Body): Promise<string> {
  const r = await ok(side, "POST", "/_matrix/client/v3/createRoom", user.token, { preset: "public_chat", ...body });
  return r["room_id"] as string;
}

/** One `/sync` of `user` at `side`: an initial one without `since`, else a long poll of up to 3 s. */
export async function syncOnce(side: Side, user: SideUser, since?: string): Promise<Body> {
  return ok(side, "GET", `/_matrix/client/v3/sync${since !== undefined ? `?since=${enc(since)}&timeout=3000` : "?timeout=0"}`, user.token);
}

/**
 * Takes a sync token, runs `act`, then syncs on from that token until a response satisfies `pred` (60 s): what `act`
 * causes cannot be missed between the two.
 */
export async function seeInSyncAfter(side: Side, user: SideUser, act: () => Promise<unknown>, pred: (b: Body) => boolean, what: string): Promise<void> {
  let from = (await syncOnce(side, user))["next_batch"] as string;
  await act();
  const deadline = Date.now() + 60_000;
  const seen: Body[] = [];
  while (Date.now() < deadline) {
    const b = await syncOnce(side, user, from);
    if (pred(b)) return;
    seen.push(b);
    from = b["next_batch"] as string;
  }
  assert.fail(`${what}: not in ${side.label}'s /sync within 60 s: ${JSON.stringify(seen).slice(-2000)}\n${side.logTail()}`);
}

/** The contents of the room's ephemeral events of `type` in a /sync response. */
export function ephemeralIn(b: Body, roomId: string, type: string): Body[] {
  const joined = ((b["rooms"] as Body | undefined)?.["join"] ?? {}) as Record<string, { ephemeral?: { events?: { type: string; content: Body }[] } }>;
  return (joined[roomId]?.ephemeral?.events ?? []).filter((e) => e.type === type).map((e) => e.content);
}

/** The user ids typing in the room according to a /sync response. */
export const typersIn = (b: Body, roomId: string): string[] => ephemeralIn(b, roomId, "m.typing").flatMap((c) => c["user_ids"] as string[]);

/** The users with an `m.read` receipt on `eventId` in a /sync response. */
export const readersIn = (b: Body, roomId: string, eventId: string): string[] =>
  ephemeralIn(b, roomId, "m.receipt").flatMap((c) => Object.keys(((c[eventId] as Body | undefined)?.["m.read"] ?? {}) as Body));

/** The stripped state of the room's invite in a /sync response, or undefined when the room is not invited. */
export function inviteStateIn(b: Body, roomId: string): Body[] | undefined {
  const invites = ((b["rooms"] as Body | undefined)?.["invite"] ?? {}) as Record<string, { invite_state?: { events?: Body[] } }>;
  return invites[roomId]?.invite_state?.events;
}
