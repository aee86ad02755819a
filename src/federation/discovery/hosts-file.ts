/**
 * The hosts file (hosts(5), `/etc/hosts`): "address name [aliases...]" per line, `#` starts a comment. Discovery
 * answers A/AAAA lookups from it before DNS when no `dns_servers` are configured, as the system resolver does and
 * as Synapse does (Twisted reads the hosts file before asking DNS); SRV and CNAME lookups stay DNS.
 */
import { isIPv4, isIPv6 } from "node:net";

export interface HostsEntries {
  readonly v4: readonly string[];
  readonly v6: readonly string[];
}

/** Name (lowercased, without a trailing dot) to its addresses, in file order, duplicates dropped. */
export type HostsTable = ReadonlyMap<string, HostsEntries>;

/**
 * Parses a hosts file. Lines whose first field is not an IP address are ignored, as are addresses with a zone
 * (`fe80::1%eth0`, which cannot be dialled as a bare address).
 */
export function parseHostsFile(text: string): HostsTable {
  const table = new Map<string, { v4: string[]; v6: string[] }>();
  for (const line of text.split(/\r?\n/)) {
    const fields = line.replace(/#.*/, "").trim().split(/\s+/).filter(Boolean);
    const [address, ...names] = fields;
    if (address === undefined || names.length === 0) continue;
    const family = isIPv4(address) ? "v4" : isIPv6(address) && !address.includes("%") ? "v6" : undefined;
    if (family === undefined) continue;
    for (const raw of names) {
      const name = raw.toLowerCase().replace(/\.$/, "");
      let e = table.get(name);
      if (!e) table.set(name, (e = { v4: [], v6: [] }));
      if (!e[family].includes(address)) e[family].push(address);
    }
  }
  return table;
}

/**
 * The hosts-file answer for `name`: undefined when the file does not name it (ask DNS), otherwise its addresses of
 * that family, possibly none. A name the file lists is answered from the file alone, as glibc's `files` source
 * does: its other family is not looked up in DNS.
 */
export function lookupHosts(table: HostsTable, name: string, family: "v4" | "v6"): readonly string[] | undefined {
  return table.get(name.toLowerCase().replace(/\.$/, ""))?.[family];
}
