/** What the public endpoints need; app/ builds it from the config and the loaded keys. */
import type { Clock } from "../../core/clock.js";
import type { SigningKey } from "../../core/crypto/index.js";
import type { ServerName } from "../../core/ids/index.js";
import type { JsonObject } from "../../core/json/types.js";

export interface ServerIdentity {
  readonly serverName: ServerName;
  /** Current keys: listed in verify_keys, and each signs the key response. */
  readonly signingKeys: readonly SigningKey[];
  /** Synapse's old_signing_keys: key id -> unpadded base64 public key and when it expired. */
  readonly oldVerifyKeys: Readonly<Record<string, { readonly key: string; readonly expired_ts: number }>>;
  /** valid_until_ts = now + this (key_refresh_interval). */
  readonly keyRefreshIntervalMs: number;
}

export interface PublicDeps {
  readonly identity: ServerIdentity;
  readonly clock: Clock;
  /** Zion's version, reported by /_matrix/federation/v1/version. */
  readonly version: string;
  /** The /.well-known/matrix/server body's m.server, or undefined when serve_server_wellknown is off. */
  readonly wellKnownServer: string | undefined;
  /** The /.well-known/matrix/client body (m.homeserver.base_url = public_baseurl). */
  readonly wellKnownClient: JsonObject;
}
