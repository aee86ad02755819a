/**
 * Where other servers will connect for federation, as the configuration implies (the specification's server-name
 * resolution: https://spec.matrix.org/v1.16/server-server-api/#resolving-server-names). The certificate must cover
 * `host`; `zion start` and `zion doctor` both check it.
 */
import { checkServerName } from "../core/ids/index.js";
import type { HomeserverConfig } from "./types.js";

export interface FederationEndpoint {
  readonly host: string;
  readonly port: number;
  readonly delegated: boolean;
  /** Why peers connect there, in words. */
  readonly via: string;
}

/** Where peers will connect for federation, per the configuration: the delegated host:port or server_name:8448. */
export function federationEndpoint(config: HomeserverConfig): FederationEndpoint {
  const parsed = checkServerName(config.server_name);
  const own = parsed.ok ? parsed.value : { host: config.server_name, port: undefined };
  if (own.port !== undefined) return { host: own.host, port: own.port, delegated: false, via: "the port in server_name" };
  const wk = config.well_known_server ?? (config.serve_server_wellknown ? `${new URL(config.public_baseurl).hostname}:443` : undefined);
  if (wk !== undefined) {
    const p = checkServerName(wk);
    if (p.ok) return { host: p.value.host, port: p.value.port ?? 8448, delegated: true, via: `/.well-known/matrix/server ("m.server": "${wk}")` };
  }
  return { host: own.host, port: 8448, delegated: false, via: "no delegation configured, so peers use port 8448" };
}

