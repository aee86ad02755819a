/**
 * An in-memory KeyStore (the storage port of src/storage/ports.ts): for unit tests and benchmarks, and the
 * throwaway cache of `zion debug keys` / `federation-request` (which must not write to a server's database). The
 * server itself always uses the SQL stores.
 */
import type { KeyId, ServerName } from "../../core/ids/index.js";
import type { KeyStore, ServerKeyRecord } from "../../storage/ports.js";

export class MemoryKeyStore implements KeyStore {
  private readonly rows = new Map<string, ServerKeyRecord>();
  writes = 0;

  async upsertServerKeys(keys: readonly ServerKeyRecord[]): Promise<void> {
    this.writes++;
    for (const k of keys) this.rows.set(`${k.serverName}\u0000${k.keyId}`, k);
  }

  async getServerKeys(serverName: ServerName, keyIds: readonly KeyId[]): Promise<ReadonlyMap<KeyId, ServerKeyRecord>> {
    const out = new Map<KeyId, ServerKeyRecord>();
    for (const id of keyIds) {
      const r = this.rows.get(`${serverName}\u0000${id}`);
      if (r) out.set(id, r);
    }
    return out;
  }

  async getAllServerKeys(serverName: ServerName): Promise<readonly ServerKeyRecord[]> {
    return [...this.rows.values()].filter((r) => r.serverName === serverName).sort((a, b) => (a.keyId < b.keyId ? -1 : 1));
  }
}
