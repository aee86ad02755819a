/**
 * Builds the whole Storage port from a backend's SqlRunner and dialect. All
 * query logic lives in sql/stores/; a backend supplies only driver glue.
 */
import { StorageUnavailableError, type MigrationStatus, type Storage, type StorageBackend } from "../ports.js";
import { loadMigrations, migrateWork, statusWork } from "./migrations.js";
import { sqlKeyStore } from "./stores/keys.js";
import { sqlEventStore } from "./stores/events.js";
import { sqlRoomStore } from "./stores/rooms.js";
import { sqlRelationStore } from "./stores/relations.js";
import { sqlRoomClientStore } from "./stores/room-client.js";
import { sqlAdminStore } from "./stores/admin.js";
import { sqlStateStore } from "./stores/state-groups.js";
import { sqlUserStore } from "./stores/users.js";
import { sqlPresenceStore, sqlPushRulesStore, sqlReceiptStore } from "./stores/sync.js";
import { sqlAccountDataStore, sqlE2eeStore, sqlFilterStore, sqlKeyBackupStore, sqlToDeviceStore } from "./stores/e2ee.js";
import { sqlDeviceFederationStore } from "./stores/device-federation.js";
import { sqlMediaStore } from "./stores/media.js";
import { sqlDestinationStore, sqlTransactionStore } from "./stores/federation.js";
import { sqlOutboundStore } from "./stores/outbound.js";
import { sqlSlidingSyncStore } from "./stores/sliding-sync.js";
import { sqlOpenIdTokenStore, sqlRegistrationNonceStore, sqlReportStore, sqlUiaSessionStore } from "./stores/uia-reports.js";
import { sqlPusherStore } from "./stores/pushers.js";
import { sqlPushActionStore } from "./stores/push-actions.js";
import { queryOne, type SqlRunner, type Stmt } from "./uow.js";

export interface Dialect {
  readonly backend: StorageBackend;
  /** Taken first in the migration transaction so concurrent starters migrate one at a time. */
  readonly migrationLock: Stmt | null;
  /** A query returning one row when the table named by its one parameter exists. */
  readonly tableExistsSql: string;
  /**
   * Forward stream claims (PostgreSQL): writers allocate positions before their write transaction and claim
   * them in the same short transaction; null where positions are taken inside the one writer's transaction.
   */
  readonly streamClaims: { readonly reapSql: string; readonly claimSql: string; readonly releaseSql: string } | null;
  /** One query returning `position`: the forward stream position up to which every write has committed. */
  readonly committedPositionSql: string;
  /** Taken first in a write transaction, per room id (sorted), to serialise writers of one room; null: writers are serial anyway. */
  readonly roomLockSql: string | null;
}

export interface SqlStorageOptions {
  readonly runner: SqlRunner;
  readonly dialect: Dialect;
  /** Wall clock for `schema_migrations.applied_ts` (adapters may read the clock; core may not). */
  readonly now: () => number;
}

/** Table name -> what a unique violation on it means to a caller. */
const ENTITY: Readonly<Record<string, string>> = {
  users: "user",
  access_tokens: "access token",
  refresh_tokens: "refresh token",
  devices: "device",
  events: "event",
  rooms: "room",
  room_aliases: "room alias",
  client_transactions: "client transaction",
  registration_tokens: "registration token",
  server_keys: "server key",
  received_transactions: "transaction",
  destinations: "destination",
  media: "media",
  media_contents: "media content",
  uia_sessions: "user-interactive auth session",
  registration_nonces: "registration nonce",
  openid_tokens: "OpenID token",
  schema_migrations: "migration",
};

export function entityOfTable(table: string | undefined): string {
  if (table === undefined) return "row";
  return ENTITY[table] ?? table;
}

export function createSqlStorage({ runner, dialect, now }: SqlStorageOptions): Storage {
  const migrations = loadMigrations(dialect.backend);
  let closed = false;
  const status = (): Promise<MigrationStatus> =>
    runner.read(function* () {
      const exists = yield* queryOne(dialect.tableExistsSql, "schema_migrations");
      return yield* statusWork(migrations, exists !== undefined);
    });
  return {
    backend: dialect.backend,
    keys: sqlKeyStore(runner),
    events: sqlEventStore(runner, dialect),
    state: sqlStateStore(runner),
    rooms: sqlRoomStore(runner),
    roomClient: sqlRoomClientStore(runner),
    relations: sqlRelationStore(runner),
    users: sqlUserStore(runner),
    admin: sqlAdminStore(runner),
    transactions: sqlTransactionStore(runner),
    destinations: sqlDestinationStore(runner),
    outbound: sqlOutboundStore(runner),
    e2ee: sqlE2eeStore(runner),
    toDevice: sqlToDeviceStore(runner),
    deviceFederation: sqlDeviceFederationStore(runner),
    accountData: sqlAccountDataStore(runner),
    filters: sqlFilterStore(runner),
    keyBackup: sqlKeyBackupStore(runner),
    receipts: sqlReceiptStore(runner),
    presence: sqlPresenceStore(runner),
    pushRules: sqlPushRulesStore(runner),
    media: sqlMediaStore(runner),
    slidingSync: sqlSlidingSyncStore(runner),
    uiaSessions: sqlUiaSessionStore(runner),
    registrationNonces: sqlRegistrationNonceStore(runner),
    reports: sqlReportStore(runner),
    openIdTokens: sqlOpenIdTokenStore(runner),
    pushers: sqlPusherStore(runner),
    pushActions: sqlPushActionStore(runner),
    migrate: () => runner.write(() => migrateWork(migrations, now(), dialect.migrationLock)),
    migrationStatus: status,
    async isMigrated() {
      const s = await status();
      return s.pending.length === 0 && s.unknown.length === 0;
    },
    async ping() {
      const r = await runner.read(() => queryOne("SELECT 1 AS one"));
      if (!r) throw new StorageUnavailableError("the database answered SELECT 1 with no row");
    },
    async close() {
      if (closed) return;
      closed = true;
      await runner.close();
    },
  };
}
