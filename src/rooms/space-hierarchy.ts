/**
 * Spaces: the room tree that m.space.child state events form, for the client's /hierarchy and the federation's
 * /hierarchy. https://spec.matrix.org/v1.13/client-server-api/#spaces and
 * https://spec.matrix.org/v1.13/server-server-api/#get_matrixfederationv1hierarchyroomid
 *
 * Only rooms this server knows (has current state for) are described; a child it does not know is left out (Zion
 * does not yet ask the child's servers over federation). Who may see a room:
 *   1. a user whose membership is join or invite; anyone when history_visibility is world_readable or the join rule
 *      is public, knock or knock_restricted (they can join or knock); with restricted (or knock_restricted) join
 *      rules, a user joined to one of the allowed rooms;
 *   2. a server with a joined user in the room, or (as for a user) world_readable, public, knock rules, or restricted
 *      rules naming a room where it has a joined user.
 * Children are ordered as the spec says: a valid `order` (at most 50 characters of \x20-\x7E) first, by order;
 * then by the child event's origin_server_ts; then by room id. A child event counts only when its state key is a
 * room id and its content's `via` is a non-empty list of strings.
 */
import type { Pdu } from "../core/events/index.js";
import { splitStateKey, stateKeyOf, type StateKey, type StateMap } from "../core/events/pdu.js";
import type { RoomId, ServerName, UserId } from "../core/ids/index.js";
import type { JsonObject, JsonValue } from "../core/json/types.js";
import { historyVisibilityOf, membershipOf } from "../core/visibility/index.js";
import type { EventStore, RoomClientStore, RoomStore } from "../storage/ports.js";

export interface SpaceSource {
  readonly rooms: Pick<RoomStore, "getRoom" | "getCurrentState">;
  readonly events: Pick<EventStore, "getPdus">;
  readonly roomClient: Pick<RoomClientStore, "countRoomMembers">;
}

export type SpaceRequester = { readonly user: UserId } | { readonly server: ServerName };

/** One m.space.child link of a space. */
export interface ChildLink {
  readonly roomId: RoomId;
  readonly suggested: boolean;
  readonly event: Pdu;
}

/** What the hierarchy reads of one known room. */
export interface SpaceRoom {
  readonly roomId: RoomId;
  /** The current state's ids (member events are loaded only when needed). */
  readonly current: StateMap;
  /** The summary's state events and the m.space.child events. */
  readonly state: ReadonlyMap<StateKey, Pdu>;
  readonly children: readonly ChildLink[];
}

/** The state a summary reads, besides the space's children. */
const SUMMARY_TYPES = ["m.room.create", "m.room.name", "m.room.topic", "m.room.canonical_alias", "m.room.avatar", "m.room.history_visibility", "m.room.guest_access", "m.room.join_rules"];
/** Member events of one server read per batch when looking for a joined user of it. */
const MEMBER_BATCH = 100;

const VALID_ORDER = /^[\x20-\x7E]{1,50}$/;

function childOf(pdu: Pdu): ChildLink | null {
  const via = pdu.content["via"];
  if (!pdu.stateKey?.startsWith("!") || !Array.isArray(via) || via.length === 0 || !via.every((v) => typeof v === "string")) return null;
  return { roomId: pdu.stateKey as RoomId, suggested: pdu.content["suggested"] === true, event: pdu };
}

function orderOf(c: ChildLink): string | undefined {
  const o = c.event.content["order"];
  return typeof o === "string" && VALID_ORDER.test(o) ? o : undefined;
}

/** The spec's child order (see the file comment). */
export function compareChildren(a: ChildLink, b: ChildLink): number {
  const oa = orderOf(a);
  const ob = orderOf(b);
  if (oa !== undefined && ob !== undefined && oa !== ob) return oa < ob ? -1 : 1;
  if (oa !== undefined && ob === undefined) return -1;
  if (oa === undefined && ob !== undefined) return 1;
  if (a.event.originServerTs !== b.event.originServerTs) return a.event.originServerTs - b.event.originServerTs;
  return a.roomId < b.roomId ? -1 : a.roomId > b.roomId ? 1 : 0;
}

function stringField(content: JsonObject | undefined, key: string): string | undefined {
  const v = content?.[key];
  return typeof v === "string" ? v : undefined;
}

export class SpaceHierarchy {
  constructor(private readonly src: SpaceSource) {}

  /** The room as the hierarchy reads it, or null when this server has no state for it. */
  async room(roomId: RoomId): Promise<SpaceRoom | null> {
    if (!(await this.src.rooms.getRoom(roomId))) return null;
    const current = await this.src.rooms.getCurrentState(roomId);
    const wanted: StateKey[] = [];
    for (const [k] of current) {
      const { type, stateKey } = splitStateKey(k);
      if (type === "m.space.child" || (stateKey === "" && SUMMARY_TYPES.includes(type))) wanted.push(k);
    }
    const pdus = await this.src.events.getPdus(wanted.map((k) => current.get(k)!));
    const state = new Map<StateKey, Pdu>();
    for (const k of wanted) {
      const p = pdus.get(current.get(k)!);
      if (p) state.set(k, p);
    }
    const children = [...state.entries()]
      .filter(([k]) => splitStateKey(k).type === "m.space.child")
      .map(([, p]) => childOf(p))
      .filter((c): c is ChildLink => c !== null)
      .sort(compareChildren);
    return { roomId, current, state, children };
  }

  private content(room: SpaceRoom, type: string): JsonObject | undefined {
    return room.state.get(stateKeyOf(type, ""))?.content;
  }

  /** The room ids a restricted (or knock_restricted) join rule allows; empty for other rules. */
  allowedRoomIds(room: SpaceRoom): RoomId[] {
    const rules = this.content(room, "m.room.join_rules");
    const rule = stringField(rules, "join_rule");
    if (rule !== "restricted" && rule !== "knock_restricted") return [];
    const allow = rules?.["allow"];
    if (!Array.isArray(allow)) return [];
    return allow.flatMap((a) => {
      const o = a as JsonObject | null;
      return o && typeof o === "object" && o["type"] === "m.room_membership" && typeof o["room_id"] === "string" ? [o["room_id"] as RoomId] : [];
    });
  }

  /** Whether the requester may see the room in a hierarchy (rules 1 and 2 of the file comment). */
  async mayView(room: SpaceRoom, who: SpaceRequester): Promise<boolean> {
    if (historyVisibilityOf(this.content(room, "m.room.history_visibility")) === "world_readable") return true;
    const rule = stringField(this.content(room, "m.room.join_rules"), "join_rule");
    if (rule === "public" || rule === "knock" || rule === "knock_restricted") return true;
    if ("user" in who) {
      const m = await this.membership(room.roomId, who.user);
      if (m === "join" || m === "invite") return true;
      for (const allowed of this.allowedRoomIds(room)) if ((await this.membership(allowed, who.user)) === "join") return true;
      return false;
    }
    if (await this.serverJoined(room, who.server)) return true;
    for (const allowed of this.allowedRoomIds(room)) {
      const other = await this.room(allowed);
      if (other && (await this.serverJoined(other, who.server))) return true;
    }
    return false;
  }

  private async membership(roomId: RoomId, userId: UserId): Promise<string | null> {
    const current = await this.src.rooms.getCurrentState(roomId);
    const id = current.get(stateKeyOf("m.room.member", userId));
    if (!id) return null;
    return membershipOf((await this.src.events.getPdus([id])).get(id)?.content);
  }

  /** Whether one of the server's users is joined (its member events are read in batches until one is). */
  private async serverJoined(room: SpaceRoom, server: ServerName): Promise<boolean> {
    const prefix = stateKeyOf("m.room.member", "");
    const ids = [...room.current].filter(([k]) => k.startsWith(prefix) && k.endsWith(`:${server}`)).map(([, id]) => id);
    for (let i = 0; i < ids.length; i += MEMBER_BATCH) {
      const batch = ids.slice(i, i + MEMBER_BATCH);
      const pdus = await this.src.events.getPdus(batch);
      if (batch.some((id) => membershipOf(pdus.get(id)?.content) === "join")) return true;
    }
    return false;
  }

  /** The room's PublicRoomsChunk with room_type (https://spec.matrix.org/v1.13/client-server-api/#get_matrixclientv3publicrooms). */
  async chunk(room: SpaceRoom): Promise<Record<string, JsonValue>> {
    const joined = (await this.src.roomClient.countRoomMembers([room.roomId], "join")).get(room.roomId) ?? 0;
    const out: Record<string, JsonValue> = {
      room_id: room.roomId,
      num_joined_members: joined,
      world_readable: historyVisibilityOf(this.content(room, "m.room.history_visibility")) === "world_readable",
      guest_can_join: stringField(this.content(room, "m.room.guest_access"), "guest_access") === "can_join",
      join_rule: stringField(this.content(room, "m.room.join_rules"), "join_rule") ?? "public",
    };
    const put = (key: string, v: string | undefined): void => { if (v !== undefined) out[key] = v; };
    put("name", stringField(this.content(room, "m.room.name"), "name"));
    put("topic", stringField(this.content(room, "m.room.topic"), "topic"));
    put("canonical_alias", stringField(this.content(room, "m.room.canonical_alias"), "alias"));
    put("avatar_url", stringField(this.content(room, "m.room.avatar"), "url"));
    put("room_type", stringField(this.content(room, "m.room.create"), "type"));
    return out;
  }

  /** The children as stripped state events with origin_server_ts (children_state). */
  childrenState(room: SpaceRoom, suggestedOnly: boolean): JsonObject[] {
    return room.children
      .filter((c) => !suggestedOnly || c.suggested)
      .map((c) => ({ type: "m.space.child", state_key: c.roomId, content: c.event.content, sender: c.event.sender, origin_server_ts: c.event.originServerTs }));
  }

  /**
   * The client's walk: depth first from `root` (depth 0), children in order, each room once, descending no deeper
   * than `maxDepth`; rooms the user may not see are left out with their subtrees. Returns the rooms from position
   * `skip` on, at most `limit`, and whether more follow. At most `maxRooms` rooms are read in one walk; the tree
   * ends there. Null when the root is unknown or the user may not see it.
   */
  async walk(root: RoomId, userId: UserId, opts: { maxDepth: number; suggestedOnly: boolean; skip: number; limit: number; maxRooms: number }): Promise<{ rooms: JsonObject[]; more: boolean } | null> {
    const rootRoom = await this.room(root);
    if (!rootRoom || !(await this.mayView(rootRoom, { user: userId }))) return null;
    const stack: { roomId: RoomId; depth: number; room?: SpaceRoom }[] = [{ roomId: root, depth: 0, room: rootRoom }];
    const seen = new Set<RoomId>([root]);
    const rooms: JsonObject[] = [];
    let position = 0;
    let read = 0;
    while (stack.length > 0 && read < opts.maxRooms) {
      const next = stack.pop()!;
      read++;
      const room = next.room ?? (await this.room(next.roomId));
      if (!room || (next.depth > 0 && !(await this.mayView(room, { user: userId })))) continue;
      if (position >= opts.skip + opts.limit) return { rooms, more: true };
      if (position >= opts.skip) rooms.push({ ...(await this.chunk(room)), children_state: this.childrenState(room, opts.suggestedOnly) });
      position++;
      if (next.depth >= opts.maxDepth) continue;
      const children = room.children.filter((c) => (!opts.suggestedOnly || c.suggested) && !seen.has(c.roomId));
      for (const c of children) seen.add(c.roomId);
      for (let i = children.length - 1; i >= 0; i--) stack.push({ roomId: children[i]!.roomId, depth: next.depth + 1 });
    }
    return { rooms, more: false };
  }

  /**
   * The federation answer for `origin`: the room with its children_state, the children this server knows and
   * `origin` may see (with allowed_room_ids), and the known ones it may not (inaccessible_children). Null when the
   * room is unknown or `origin` may not see it (404).
   */
  async forServer(roomId: RoomId, origin: ServerName, suggestedOnly: boolean): Promise<JsonObject | null> {
    const room = await this.room(roomId);
    if (!room || !(await this.mayView(room, { server: origin }))) return null;
    const withAllowed = async (r: SpaceRoom): Promise<Record<string, JsonValue>> => {
      const c = await this.chunk(r);
      const allowed = this.allowedRoomIds(r);
      return allowed.length > 0 ? { ...c, allowed_room_ids: allowed } : c;
    };
    const children: JsonObject[] = [];
    const inaccessible: RoomId[] = [];
    for (const link of room.children.filter((c) => !suggestedOnly || c.suggested)) {
      const child = await this.room(link.roomId);
      if (!child) continue;
      if (await this.mayView(child, { server: origin })) children.push(await withAllowed(child));
      else inaccessible.push(link.roomId);
    }
    return { room: { ...(await withAllowed(room)), children_state: this.childrenState(room, suggestedOnly) }, children, inaccessible_children: inaccessible };
  }
}
