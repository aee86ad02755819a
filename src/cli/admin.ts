/**
 * `zion admin -c homeserver.yaml users|rooms|registration-tokens ...`: manages a server through its database, with
 * the same service code as the admin API (app/admin.ts), so it works while the server is stopped. Output is the
 * admin API's JSON for one object, one line per item for lists (--json: the API's JSON). Exit 0 done, 1 refused
 * (the Matrix error is printed, nothing written), 2 usage or configuration error.
 */
import type { Command } from "commander";
import { MatrixError } from "../core/errors.js";
import { parseRoomId, type UserId } from "../core/ids/index.js";
import { ConfigError, loadConfigWithWarnings, type HomeserverConfig } from "../config/index.js";
import { adminService as svc, destinationAdmin, mediaAdmin, roomAdmin, openAdminSession, type AdminSession } from "../app/admin.js";

interface Common { config?: string; json?: boolean }

function usage(msg: string): never {
  process.stderr.write(`zion admin: ${msg}\n`);
  process.exit(2);
}

function loadConfig(flags: Common): HomeserverConfig {
  if (!flags.config) usage("give the server's homeserver.yaml with -c");
  try {
    return loadConfigWithWarnings(flags.config).config;
  } catch (e) {
    if (e instanceof ConfigError) usage(e.message);
    throw e;
  }
}

/** Runs `work` on an admin session of the config's database; a MatrixError is exit 1, anything else exit 1 with its message. */
async function withSession(flags: Common, work: (s: AdminSession, config: HomeserverConfig) => Promise<void>): Promise<void> {
  const config = loadConfig(flags);
  let session: AdminSession;
  try {
    session = await openAdminSession(config);
  } catch (e) {
    process.stderr.write(`zion admin: cannot open the database: ${(e as Error).message}\n`);
    process.exit(1);
  }
  try {
    await work(session, config);
  } catch (e) {
    process.exitCode = 1;
    if (e instanceof MatrixError) process.stderr.write(`zion admin: ${e.errcode}: ${e.message}\n`);
    else process.stderr.write(`zion admin: ${(e as Error).message}\n`);
  } finally {
    await session.close();
  }
}

/** A localpart or a full user id of this server. */
function userArg(raw: string, config: HomeserverConfig): UserId {
  return (raw.startsWith("@") ? raw : `@${raw}:${config.server_name}`) as UserId;
}

const print = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
};

function intOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,15}$/.test(value)) usage(`${name}: must be a non-negative integer`);
  return Number(value);
}

export function registerAdmin(program: Command): void {
  const admin = program
    .command("admin")
    .description("manage users, rooms, media, federation destinations and registration tokens directly in the database (works while the server is stopped)")
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));
  const cfg = (c: Command): Command => c.option("-c, --config <file>", "the server's homeserver.yaml (required)").exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

  const users = admin.command("users").description("local users").exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));
  cfg(users.command("list").description("list users (as GET /_synapse/admin/v2/users)"))
    .option("--name <text>", "only users whose id or display name contains this")
    .option("--deactivated", "include deactivated users")
    .option("--admins", "only server admins")
    .option("--from <n>", "skip this many")
    .option("--limit <n>", "at most this many (default 100)")
    .option("--order-by <column>", "name, creation_ts, displayname, admin, deactivated")
    .option("--json", "print the admin API's JSON")
    .action(async (flags: Common & { name?: string; deactivated?: boolean; admins?: boolean; from?: string; limit?: string; orderBy?: string }) => {
      await withSession(flags, async ({ deps }) => {
        const q = svc.userListQuery({ name: flags.name, deactivated: flags.deactivated ? "true" : "false", admins: flags.admins ? "true" : undefined, from: flags.from, limit: flags.limit, order_by: flags.orderBy });
        const r = await svc.listUsers(deps, q);
        if (flags.json) return print(r);
        for (const u of r.users) process.stdout.write(`${u.name}${u.admin ? " admin" : ""}${u.deactivated ? " deactivated" : ""}${u.displayname ? ` (${u.displayname})` : ""}\n`);
        process.stdout.write(`${r.users.length} of ${r.total} users\n`);
      });
    });
  cfg(users.command("show").description("one user (as GET /_synapse/admin/v2/users/{userId})").argument("<user>", "localpart or user id"))
    .action(async (user: string, flags: Common) => {
      await withSession(flags, async ({ deps }, config) => print(await svc.userDetails(deps, svc.localUserParam(userArg(user, config), deps))));
    });
  cfg(users.command("create").description("create a user (as PUT /_synapse/admin/v2/users/{userId})").argument("<user>", "localpart or user id"))
    .option("-p, --password <password>", "its password (none: it cannot log in with a password)")
    .option("--displayname <name>", "its display name (default: the localpart)")
    .option("-a, --admin", "make it a server admin")
    .action(async (user: string, flags: Common & { password?: string; displayname?: string; admin?: boolean }) => {
      await withSession(flags, async ({ deps }, config) => {
        const id = svc.localUserParam(userArg(user, config), deps, "create");
        if (await deps.users.getUser(id)) throw new MatrixError("M_USER_IN_USE", 400, `${id} exists already`);
        const r = await svc.upsertUser(deps, null, id, { password: flags.password, displayname: flags.displayname, admin: flags.admin === true });
        print(r.user);
      });
    });
  cfg(users.command("set-admin").description("make a user a server admin, or not (as PUT /_synapse/admin/v1/users/{userId}/admin)").argument("<user>", "localpart or user id").argument("<admin>", "true or false"))
    .action(async (user: string, value: string, flags: Common) => {
      if (value !== "true" && value !== "false") usage("admin: must be true or false");
      await withSession(flags, async ({ deps }, config) => {
        const id = svc.localUserParam(userArg(user, config), deps, "change");
        await svc.setAdminFlag(deps, null, id, value === "true");
        process.stdout.write(`${id} is ${value === "true" ? "now" : "no longer"} a server admin.\n`);
      });
    });
  cfg(users.command("deactivate").description("deactivate a user: logged out everywhere, leaves its rooms (as POST /_synapse/admin/v1/deactivate)").argument("<user>", "localpart or user id"))
    .option("--erase", "also clear its display name and avatar")
    .action(async (user: string, flags: Common & { erase?: boolean }) => {
      await withSession(flags, async ({ deps }, config) => {
        const id = svc.localUserParam(userArg(user, config), deps, "deactivate");
        const { left } = await svc.deactivateUser(deps, id, flags.erase === true);
        process.stdout.write(`Deactivated ${id}; it left ${left} room(s).\n`);
      });
    });
  cfg(users.command("reset-password").description("set a user's password (as POST /_synapse/admin/v1/reset_password)").argument("<user>", "localpart or user id"))
    .option("-p, --password <password>", "the new password (required)")
    .option("--no-logout-devices", "keep the user's devices logged in")
    .action(async (user: string, flags: Common & { password?: string; logoutDevices?: boolean }) => {
      if (!flags.password) usage("give the new password with -p");
      await withSession(flags, async ({ deps }, config) => {
        const id = svc.localUserParam(userArg(user, config), deps, "reset the password of");
        await svc.resetPassword(deps, id, flags.password!, flags.logoutDevices !== false);
        process.stdout.write(`Password of ${id} changed${flags.logoutDevices !== false ? "; its devices are logged out" : ""}.\n`);
      });
    });

  const rooms = admin.command("rooms").description("rooms this server holds").exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));
  const roomArg = (raw: string) => {
    try {
      return parseRoomId(raw, "room");
    } catch (e) {
      return usage((e as Error).message);
    }
  };
  cfg(rooms.command("list").description("list rooms (as GET /_synapse/admin/v1/rooms)"))
    .option("--search <text>", "only rooms whose name or alias contains this, or with this room id")
    .option("--order-by <column>", "name, joined_members, joined_local_members, state_events, canonical_alias, version, creator, ...")
    .option("--from <n>", "skip this many")
    .option("--limit <n>", "at most this many (default 100)")
    .option("--json", "print the admin API's JSON")
    .action(async (flags: Common & { search?: string; orderBy?: string; from?: string; limit?: string }) => {
      await withSession(flags, async ({ deps }) => {
        const r = await roomAdmin.listRooms(deps, roomAdmin.roomListQuery({ search_term: flags.search, order_by: flags.orderBy, from: flags.from, limit: flags.limit }));
        if (flags.json) return print(r);
        for (const x of r.rooms) process.stdout.write(`${x.room_id} ${x.joined_members} joined (${x.joined_local_members} local)${x.name ? ` "${x.name}"` : ""}${x.canonical_alias ? ` ${x.canonical_alias}` : ""}\n`);
        process.stdout.write(`${r.rooms.length} of ${r.total_rooms} rooms\n`);
      });
    });
  cfg(rooms.command("block").description("block a room: no local user may join or be invited (as PUT /_synapse/admin/v1/rooms/{roomId}/block)").argument("<room>", "room id"))
    .action(async (room: string, flags: Common) => {
      const roomId = roomArg(room);
      await withSession(flags, async ({ deps }) => {
        await roomAdmin.setRoomBlock(deps, null, roomId, true);
        process.stdout.write(`Blocked ${roomId}.\n`);
      });
    });
  cfg(rooms.command("unblock").description("lift a room's block").argument("<room>", "room id"))
    .action(async (room: string, flags: Common) => {
      const roomId = roomArg(room);
      await withSession(flags, async ({ deps }) => {
        await roomAdmin.setRoomBlock(deps, null, roomId, false);
        process.stdout.write(`Unblocked ${roomId}.\n`);
      });
    });
  cfg(rooms.command("delete").description("make the room's local users leave, delete its aliases and purge it (as DELETE /_synapse/admin/v1/rooms/{roomId})").argument("<room>", "room id"))
    .option("--block", "also block the room")
    .option("--no-purge", "keep the room's history in the database")
    .option("--force-purge", "purge even when a local user could not be made to leave")
    .option("--new-room-user <user>", "a local user who creates a room the members are moved to")
    .option("--message <text>", "what that user posts in the new room")
    .action(async (room: string, flags: Common & { block?: boolean; purge?: boolean; forcePurge?: boolean; newRoomUser?: string; message?: string }) => {
      const roomId = roomArg(room);
      await withSession(flags, async ({ deps }, config) => {
        const r = await roomAdmin.deleteRoom(deps, null, roomId, {
          block: flags.block === true, purge: flags.purge !== false, forcePurge: flags.forcePurge === true,
          newRoomUserId: flags.newRoomUser === undefined ? undefined : userArg(flags.newRoomUser, config), message: flags.message,
        });
        print(r);
      });
    });

  const media = admin.command("media").description("uploaded and cached media").exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));
  const mxcArg = (raw: string): { server: string; id: string } => {
    const m = /^mxc:\/\/([^/]+)\/([A-Za-z0-9_-]{1,255})$/.exec(raw);
    return m ? { server: m[1]!, id: m[2]! } : usage(`${raw}: give a media URI, mxc://server/id`);
  };
  cfg(media.command("list").description("a user's uploads (as GET /_synapse/admin/v1/users/{userId}/media)").argument("<user>", "localpart or user id"))
    .option("--from <n>", "skip this many")
    .option("--limit <n>", "at most this many (default 100)")
    .option("--json", "print the admin API's JSON")
    .action(async (user: string, flags: Common & { from?: string; limit?: string }) => {
      await withSession(flags, async ({ deps }, config) => {
        const q = mediaAdmin.userMediaQuery(svc.localUserParam(userArg(user, config), deps), { from: flags.from, limit: flags.limit });
        const r = await mediaAdmin.listUserMedia(deps, q);
        if (flags.json) return print(r);
        for (const m of r.media) process.stdout.write(`mxc://${config.server_name}/${m.media_id} ${m.media_type ?? "?"} ${m.media_length ?? 0} bytes${m.upload_name ? ` "${m.upload_name}"` : ""}${m.quarantined_by !== null ? " quarantined" : ""}\n`);
        process.stdout.write(`${r.media.length} of ${r.total} media\n`);
      });
    });
  for (const [name, quarantined] of [["quarantine", true], ["unquarantine", false]] as const) {
    cfg(media.command(name).description(quarantined ? "quarantine a media id: served to nobody (as POST /_synapse/admin/v1/media/quarantine/...)" : "lift a quarantine").argument("<mxc>", "mxc://server/id"))
      .action(async (raw: string, flags: Common) => {
        const { server, id } = mxcArg(raw);
        await withSession(flags, async ({ deps }) => {
          await mediaAdmin.setQuarantine(deps, null, server, id, quarantined);
          process.stdout.write(`${quarantined ? "Quarantined" : "Released"} ${raw}.\n`);
        });
      });
  }
  cfg(media.command("delete").description("delete a local media id and, when no other id shares them, its bytes (as DELETE /_synapse/admin/v1/media/...)").argument("<mxc>", "mxc://server/id"))
    .action(async (raw: string, flags: Common) => {
      const { server, id } = mxcArg(raw);
      await withSession(flags, async ({ deps }) => {
        await mediaAdmin.deleteMedia(deps, server, id);
        process.stdout.write(`Deleted ${raw}.\n`);
      });
    });

  const destinations = admin.command("destinations").description("federation destinations (the servers the sender knows)").exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));
  cfg(destinations.command("list").description("as GET /_synapse/admin/v1/federation/destinations"))
    .option("--json", "print the admin API's JSON")
    .action(async (flags: Common) => {
      await withSession(flags, async ({ deps }) => {
        const r = await destinationAdmin.listDestinations(deps, { limit: "1000" });
        if (flags.json) return print(r);
        for (const d of r.destinations) process.stdout.write(`${d.destination} ${d.retry_interval > 0 ? `backing off ${Math.round(d.retry_interval / 1000)} s` : "healthy"}, ${d.queued_pdus} PDUs and ${d.queued_edus} EDUs queued${d.last_error ? ` (last error: ${d.last_error})` : ""}\n`);
        process.stdout.write(`${r.destinations.length} of ${r.total} destinations\n`);
      });
    });
  cfg(destinations.command("reset").description("end a destination's back-off, so the server tries it at once (as POST .../reset_connection)").argument("<destination>", "a server name"))
    .action(async (destination: string, flags: Common) => {
      await withSession(flags, async ({ deps }) => {
        await destinationAdmin.resetDestination(deps, destination);
        process.stdout.write(`Reset the back-off of ${destination}.\n`);
      });
    });

  const tokens = admin.command("registration-tokens").description("registration tokens (registration_requires_token)").exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));
  cfg(tokens.command("list").description("list tokens (as GET /_synapse/admin/v1/registration_tokens)"))
    .option("--valid", "only tokens usable now")
    .option("--invalid", "only used-up or expired tokens")
    .option("--json", "print the admin API's JSON")
    .action(async (flags: Common & { valid?: boolean; invalid?: boolean }) => {
      if (flags.valid && flags.invalid) usage("give --valid or --invalid, not both");
      await withSession(flags, async ({ deps }) => {
        const list = (await deps.admin.listRegistrationTokens({ valid: flags.valid ? true : flags.invalid ? false : undefined, nowTs: deps.clock.now() })).map(svc.tokenJson);
        if (flags.json) return print({ registration_tokens: list });
        for (const t of list) {
          const uses = t.uses_allowed === null ? "unlimited" : `${t.uses_allowed} allowed`;
          const expiry = t.expiry_time === null ? "never expires" : `expires ${new Date(t.expiry_time).toISOString()}`;
          process.stdout.write(`${t.token} ${uses}, ${t.completed} completed, ${t.pending} pending, ${expiry}\n`);
        }
      });
    });
  cfg(tokens.command("create").description("create a token (as POST /_synapse/admin/v1/registration_tokens/new)"))
    .option("--token <token>", "the token (default: random)")
    .option("--length <n>", "length of a random token (default 16)")
    .option("--uses-allowed <n>", "how many registrations may use it (default unlimited)")
    .option("--expiry-time <ms>", "when it expires, in ms since the epoch (default never)")
    .action(async (flags: Common & { token?: string; length?: string; usesAllowed?: string; expiryTime?: string }) => {
      const p = { token: flags.token, length: intOption(flags.length, "--length"), uses_allowed: intOption(flags.usesAllowed, "--uses-allowed"), expiry_time: intOption(flags.expiryTime, "--expiry-time") };
      await withSession(flags, async ({ deps }) => print(svc.tokenJson(await svc.createRegistrationToken(deps, p))));
    });
  cfg(tokens.command("delete").description("delete a token (as DELETE /_synapse/admin/v1/registration_tokens/{token})").argument("<token>"))
    .action(async (token: string, flags: Common) => {
      await withSession(flags, async ({ deps }) => {
        await svc.deleteRegistrationToken(deps, token);
        process.stdout.write(`Deleted registration token ${token}.\n`);
      });
    });
}
