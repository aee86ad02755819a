/**
 * `zion register-user`: creates an account through the running server's shared-secret registration endpoint
 * (/_synapse/admin/v1/register), as Synapse's register_new_matrix_user does. Talking to the server rather than
 * the database means the server's own validation, hashing and caches apply, the command needs no database
 * credentials, and it works the same on SQLite and PostgreSQL; the server must be running.
 */
import type { HomeserverConfig } from "../config/index.js";
import { registrationMac } from "../api/index.js";
import { sharedSecretOf } from "./accounts.js";

export interface RegisterUserRequest {
  readonly serverUrl: string;
  readonly sharedSecret: string;
  readonly username: string;
  readonly password: string;
  readonly admin: boolean;
  readonly userType?: string | undefined;
  /** Treat M_USER_IN_USE as success. */
  readonly existsOk?: boolean;
}

export type RegisterUserResult =
  | { readonly ok: true; readonly userId: string; readonly existed: boolean }
  | { readonly ok: false; readonly reason: string };

/** The client listener's URL from the config, as register_new_matrix_user finds it (a wildcard bind means loopback). */
export function clientUrlOf(config: HomeserverConfig): string | undefined {
  const l = config.listeners.find((x) => x.type === "http" && x.resources.some((r) => r.names.includes("client")));
  if (!l) return undefined;
  const bind = l.bind_addresses[0] ?? "127.0.0.1";
  const host = bind === "0.0.0.0" ? "127.0.0.1" : bind === "::" ? "[::1]" : bind.includes(":") ? `[${bind}]` : bind;
  return `${l.tls ? "https" : "http"}://${host}:${l.port}`;
}

export function sharedSecretFromConfig(config: HomeserverConfig): string | undefined {
  return sharedSecretOf(config);
}

async function jsonOf(r: Response): Promise<Record<string, unknown>> {
  const text = await r.text();
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { error: text.slice(0, 200) };
  }
}

export async function registerUser(req: RegisterUserRequest, fetchImpl: typeof fetch = fetch): Promise<RegisterUserResult> {
  const url = `${req.serverUrl.replace(/\/+$/, "")}/_synapse/admin/v1/register`;
  let nonceReply: Response;
  try {
    nonceReply = await fetchImpl(url, { signal: AbortSignal.timeout(30_000) });
  } catch (e) {
    return { ok: false, reason: `cannot reach ${req.serverUrl}: ${(e as Error).message} (is the server running?)` };
  }
  const nonceBody = await jsonOf(nonceReply);
  if (!nonceReply.ok || typeof nonceBody["nonce"] !== "string") {
    return { ok: false, reason: `GET ${url}: ${nonceReply.status} ${String(nonceBody["errcode"] ?? "")} ${String(nonceBody["error"] ?? "")}`.trim() };
  }
  const nonce = nonceBody["nonce"];
  const mac = registrationMac(req.sharedSecret, { nonce, username: req.username, password: req.password, admin: req.admin, userType: req.userType });
  const body = { nonce, username: req.username, displayname: req.username, password: req.password, admin: req.admin, mac, ...(req.userType ? { user_type: req.userType } : {}) };
  const reply = await fetchImpl(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal: AbortSignal.timeout(30_000) });
  const out = await jsonOf(reply);
  if (reply.ok) return { ok: true, userId: String(out["user_id"]), existed: false };
  if (req.existsOk && out["errcode"] === "M_USER_IN_USE") return { ok: true, userId: req.username, existed: true };
  return { ok: false, reason: `${reply.status} ${String(out["errcode"] ?? "")}: ${String(out["error"] ?? "")}` };
}
