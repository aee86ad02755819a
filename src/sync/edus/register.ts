/**
 * Typing, receipts and presence over federation, both directions (docs/federation.md, "Typing, receipts and
 * presence"): registers the inbound handlers in the EduRegistry, listens to the typing stream and to room writes
 * (typing ends with membership, presence for servers that join), and returns the receipt and presence stores that local writers (the client
 * routes, /sync's set_presence) go through, so that each local write is also queued for the servers that should
 * hear of it.
 */
import type { Clock } from "../../core/clock.js";
import type { ServerName, UserId } from "../../core/ids/index.js";
import type { EduRegistry } from "../../rooms/index.js";
import type { EventStore, PresenceStore, ReceiptStore, RoomClientStore, RoomStore } from "../../storage/ports.js";
import type { Notifier, NotifierTimers } from "../notifier.js";
import type { TypingStream } from "../typing.js";
import { InboundEdus, type EduLog } from "./inbound.js";
import { OutboundEdus, type EduSender, type RoomServers } from "./outbound.js";

export interface PresenceTypingReceiptDeps {
  readonly serverName: ServerName;
  readonly edus: EduRegistry;
  readonly typing: TypingStream;
  readonly storage: {
    readonly rooms: Pick<RoomStore, "getCurrentStateEventId" | "getRoomsForUser">;
    readonly roomClient: Pick<RoomClientStore, "getRoomMembers">;
    readonly events: Pick<EventStore, "getPdus">;
    readonly receipts: ReceiptStore;
    readonly presence: PresenceStore;
  };
  readonly notifier: Pick<Notifier, "notifyRoom" | "notifyPresence" | "onRoomEvents">;
  readonly clock: Clock;
  readonly timers: NotifierTimers;
  readonly sender: EduSender;
  readonly roomServers: RoomServers;
  /** presence.enabled. */
  readonly presenceEnabled: boolean;
  /** send_presence_to_federation. */
  readonly sendPresenceToFederation: boolean;
  readonly log: EduLog;
}

export interface PresenceTypingReceiptEdus {
  /** The receipt store for local writers: m.read receipts of local users are queued for the room's servers. */
  readonly receipts: ReceiptStore;
  /** The presence store for local writers: changes of local users are sent to the servers sharing a room. */
  readonly presence: PresenceStore;
  /** Stops the typing repeats (server stop). */
  close(): void;
}

export function registerPresenceTypingReceiptEdus(deps: PresenceTypingReceiptDeps): PresenceTypingReceiptEdus {
  const { storage } = deps;
  const inbound = new InboundEdus({ typing: deps.typing, storage, notifier: deps.notifier, clock: deps.clock, presenceEnabled: deps.presenceEnabled, log: deps.log });
  for (const h of inbound.handlers()) deps.edus.register(h);

  const outbound = new OutboundEdus({
    serverName: deps.serverName, sender: deps.sender, roomServers: deps.roomServers, rooms: storage.rooms, timers: deps.timers,
    roomClient: storage.roomClient, presence: storage.presence,
    now: () => deps.clock.now(), isTyping: (r, u) => deps.typing.isTyping(r, u),
    sendPresence: deps.presenceEnabled && deps.sendPresenceToFederation, log: deps.log,
  });
  deps.typing.onChange((roomId, userId, typing) => outbound.typingChanged(roomId, userId, typing));
  // Membership changes: whoever is no longer joined stops typing (their server may never say so); joins send
  // presence (outbound step 6).
  deps.notifier.onRoomEvents((roomId, events) => void (async () => {
    try {
      const members = events.filter((p) => p.type === "m.room.member" && p.stateKey !== undefined);
      if (members.length === 0) return;
      for (const p of members) if (p.content["membership"] !== "join") deps.typing.set(roomId, p.stateKey as UserId, null);
      await outbound.joined(roomId, members.filter((p) => p.content["membership"] === "join").map((p) => p.stateKey as UserId));
    } catch (e) {
      deps.log.info({ room_id: roomId, err: e instanceof Error ? e.message : String(e) }, "membership changes not read for typing and presence");
    }
  })());

  const receipts: ReceiptStore = {
    get: (...a) => storage.receipts.get(...a),
    changesSince: (...a) => storage.receipts.changesSince(...a),
    maxPosition: () => storage.receipts.maxPosition(),
    async put(r) {
      const pos = await storage.receipts.put(r);
      await outbound.receiptStored(r);
      return pos;
    },
  };
  const presence: PresenceStore = {
    get: (...a) => storage.presence.get(...a),
    touch: (...a) => storage.presence.touch(...a),
    usersNotOffline: (...a) => storage.presence.usersNotOffline(...a),
    changesSince: (...a) => storage.presence.changesSince(...a),
    maxPosition: () => storage.presence.maxPosition(),
    async put(userId, state, statusMsg, nowTs) {
      const old = await storage.presence.get(userId);
      const pos = await storage.presence.put(userId, state, statusMsg, nowTs);
      await outbound.presenceStored(old, await storage.presence.get(userId));
      return pos;
    },
  };
  return { receipts, presence, close: () => outbound.close() };
}
