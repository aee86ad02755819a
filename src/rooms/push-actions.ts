/**
 * Push actions at write time (https://spec.matrix.org/v1.13/client-server-api/#push-rules, "Receiving
 * notifications"): before a batch of events is persisted, each local joined member's push rules (core/push) are
 * evaluated for each event the batch may add to the timeline, and the ones that notify go into the batch
 * (PersistBatch.pushActions), so they are stored in the events' own transaction (migration 0018). The sender's own
 * events are never evaluated for the sender.
 *
 * 1. The room as the rules see it (joined members, local members' display names, power levels, create event) is
 *    read from current state, or taken from the cache a batch without state changes left; the batch's own state
 *    events update it, in order, for the events after them.
 * 2. Each timeline candidate (not an outlier, not backfilled, neither rejected nor soft-failed) is evaluated for
 *    every local joined member other than its sender; a notifying outcome becomes one PushActionToStore.
 * 3. After the commit (persisted()): a batch that changed current state drops the room's cache entry.
 *
 * The cache and the users' rulesets live in this process: a second Zion process writing the same PostgreSQL would
 * need to tell this one when rooms' state or users' rules change (docs/push.md).
 */
import { PowerLevelView } from "../core/auth/index.js";
import type { Pdu } from "../core/events/index.js";
import type { RoomId, ServerName, UserId } from "../core/ids/index.js";
import type { JsonObject } from "../core/json/types.js";
import { NO_USER_PUSH_RULES, effectivePushRuleset, evaluatePushRules, type PushRuleset, type UserPushRules } from "../core/push/index.js";
import type { PersistBatch, PersistResult, PushActionToStore, Storage, StreamOrdering } from "../storage/ports.js";

export type PushActionStorage = Pick<Storage, "events" | "rooms" | "roomClient" | "pushRules">;

/** The m.thread root an event belongs to, or null (the main timeline). */
export function threadOf(p: Pdu): string | null {
  const raw = (p.content as JsonObject)["m.relates_to"];
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return null;
  const rel = raw as JsonObject;
  return rel["rel_type"] === "m.thread" && typeof rel["event_id"] === "string" ? rel["event_id"] : null;
}

interface RoomPushState {
  /** Every joined member (any server), for room_member_count. */
  readonly joined: Set<UserId>;
  /** Local joined members and their display names. */
  readonly local: Map<UserId, string | null>;
  powerLevels: Pdu | undefined;
  create: Pdu | undefined;
}

const cloneState = (s: RoomPushState): RoomPushState => ({ joined: new Set(s.joined), local: new Map(s.local), powerLevels: s.powerLevels, create: s.create });

const displayNameOf = (p: Pdu): string | null => {
  const d = (p.content as JsonObject)["displayname"];
  return typeof d === "string" ? d : null;
};

/** The most rooms and users whose inputs are kept (then the cache starts afresh). */
const MAX_CACHED = 50_000;

export class PushActions {
  private readonly rooms = new Map<RoomId, RoomPushState>();
  private readonly rulesets = new Map<UserId, PushRuleset>();
  private readonly listeners: Array<(stored: ReadonlyMap<UserId, StreamOrdering>) => void> = [];

  constructor(private readonly storage: PushActionStorage, private readonly serverName: ServerName) {}

  /** A user's push rules changed: their next evaluation reads them again. */
  rulesChanged(userId: UserId): void {
    this.rulesets.delete(userId);
  }

  /** The batch with its push actions (steps 1-2). */
  async withActions(batch: PersistBatch): Promise<PersistBatch> {
    const candidates = batch.events.filter((e) => !e.outlier && !e.backfilled && !e.rejectionReason && !e.softFailed);
    if (candidates.length === 0) return batch;
    const actions: PushActionToStore[] = [];
    const byRoom = new Map<RoomId, Pdu[]>();
    for (const e of batch.events) {
      if (e.outlier || e.backfilled || e.rejectionReason) continue;
      let list = byRoom.get(e.pdu.roomId);
      if (!list) byRoom.set(e.pdu.roomId, (list = []));
      list.push(e.pdu);
    }
    const counted = new Set(candidates.map((e) => e.pdu.eventId));
    const softFailed = new Set(batch.events.filter((e) => e.softFailed).map((e) => e.pdu.eventId));
    for (const [roomId, pdus] of byRoom) {
      // Step 1
      const state = cloneState(this.rooms.get(roomId) ?? (await this.load(roomId)));
      const rulesets = await this.rulesetsOf([...state.local.keys(), ...pdus.flatMap((p) => (p.type === "m.room.member" && this.isLocal(p.stateKey) ? [p.stateKey as UserId] : []))]);
      for (const pdu of pdus) {
        // Step 2
        if (counted.has(pdu.eventId)) actions.push(...this.evaluate(state, rulesets, pdu));
        // Soft-failed state does not change what later events are judged by.
        if (!softFailed.has(pdu.eventId)) this.apply(state, pdu);
      }
    }
    return actions.length === 0 ? batch : { ...batch, pushActions: [...(batch.pushActions ?? []), ...actions] };
  }

  /** Called after each commit that stored push actions, with each user's highest stored stream ordering (pushers). */
  onStored(listener: (stored: ReadonlyMap<UserId, StreamOrdering>) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Step 3: after a successful persist, the rooms the batch changed state in are read afresh next time, and the
   * listeners hear which users have new push actions.
   */
  persisted(batch: PersistBatch, result?: PersistResult): void {
    if (result && batch.pushActions && batch.pushActions.length > 0 && this.listeners.length > 0) {
      const stored = new Map<UserId, StreamOrdering>();
      for (const a of batch.pushActions) {
        const at = result.orderings.get(a.eventId);
        if (at !== undefined && at > (stored.get(a.userId) ?? 0)) stored.set(a.userId, at);
      }
      if (stored.size > 0) for (const l of this.listeners) l(stored);
    }
    for (const d of batch.state ?? []) this.rooms.delete(d.roomId);
    for (const o of batch.outOfBand ?? []) this.rooms.delete(o.roomId);
    for (const e of batch.events) if (e.pdu.stateKey !== undefined) this.rooms.delete(e.pdu.roomId);
  }

  private isLocal(userId: string | undefined): boolean {
    return userId !== undefined && userId.endsWith(`:${this.serverName}`);
  }

  private evaluate(state: RoomPushState, rulesets: ReadonlyMap<UserId, PushRuleset>, pdu: Pdu): PushActionToStore[] {
    if (state.local.size === 0) return [];
    const pl = state.powerLevels;
    const view = state.create ? new PowerLevelView(pl, state.create, state.create.roomVersion) : undefined;
    const notifications = pl && typeof (pl.content as JsonObject)["notifications"] === "object" && (pl.content as JsonObject)["notifications"] !== null
      ? ((pl.content as JsonObject)["notifications"] as Record<string, number>)
      : {};
    const senderPowerLevel = view ? view.userLevel(pdu.sender) : 0;
    const threadId = threadOf(pdu);
    const out: PushActionToStore[] = [];
    for (const [userId, displayName] of state.local) {
      if (userId === pdu.sender) continue;
      const ruleset = rulesets.get(userId);
      if (!ruleset) continue;
      const outcome = evaluatePushRules(ruleset, pdu.raw, { userId, displayName, memberCount: state.joined.size, senderPowerLevel, notificationPowerLevels: notifications });
      if (!outcome?.notify) continue;
      out.push({ eventId: pdu.eventId, userId, threadId, highlight: outcome.highlight, actions: outcome.actions as PushActionToStore["actions"] });
    }
    return out;
  }

  private apply(state: RoomPushState, pdu: Pdu): void {
    if (pdu.stateKey === undefined) return;
    if (pdu.type === "m.room.power_levels" && pdu.stateKey === "") state.powerLevels = pdu;
    else if (pdu.type === "m.room.create" && pdu.stateKey === "") state.create = pdu;
    else if (pdu.type === "m.room.member") {
      const userId = pdu.stateKey as UserId;
      const joined = (pdu.content as JsonObject)["membership"] === "join";
      if (joined) state.joined.add(userId);
      else state.joined.delete(userId);
      if (this.isLocal(userId)) {
        if (joined) state.local.set(userId, displayNameOf(pdu));
        else state.local.delete(userId);
      }
    }
  }

  private async load(roomId: RoomId): Promise<RoomPushState> {
    const { storage } = this;
    const [members, plId, createId] = await Promise.all([
      storage.roomClient.getRoomMembers(roomId, "join"),
      storage.rooms.getCurrentStateEventId(roomId, "m.room.power_levels", ""),
      storage.rooms.getCurrentStateEventId(roomId, "m.room.create", ""),
    ]);
    const local = members.filter((m) => this.isLocal(m));
    const memberIds = await Promise.all(local.map((m) => storage.rooms.getCurrentStateEventId(roomId, "m.room.member", m)));
    const pdus = await storage.events.getPdus([plId, createId, ...memberIds].filter((x): x is NonNullable<typeof x> => x !== null));
    const state: RoomPushState = {
      joined: new Set(members),
      local: new Map(local.map((m, i) => [m, memberIds[i] ? displayNameOf(pdus.get(memberIds[i]!)!) : null])),
      powerLevels: plId ? pdus.get(plId) : undefined,
      create: createId ? pdus.get(createId) : undefined,
    };
    if (this.rooms.size >= MAX_CACHED) this.rooms.clear();
    this.rooms.set(roomId, state);
    return state;
  }

  private async rulesetsOf(userIds: readonly UserId[]): Promise<ReadonlyMap<UserId, PushRuleset>> {
    const out = new Map<UserId, PushRuleset>();
    const missing: UserId[] = [];
    for (const u of new Set(userIds)) {
      const hit = this.rulesets.get(u);
      if (hit) out.set(u, hit);
      else missing.push(u);
    }
    const stored = await Promise.all(missing.map((u) => this.storage.pushRules.get(u)));
    if (this.rulesets.size + missing.length >= MAX_CACHED) this.rulesets.clear();
    missing.forEach((userId, i) => {
      const rules = (stored[i] as unknown as UserPushRules | null) ?? NO_USER_PUSH_RULES;
      const ruleset = effectivePushRuleset({ userId }, rules);
      this.rulesets.set(userId, ruleset);
      out.set(userId, ruleset);
    });
    return out;
  }
}
