/**
 * The timeline events of one sync response (/sync or sliding sync), put in the client form together once every
 * room is built: redactions, the syncing device's transaction ids and the previous state of state events are read
 * in one batch for all rooms (RoomReads.clientEvents: a fixed number of reads, plus one state read per room with
 * state events in its timeline), not once per room.
 */
import type { Pdu } from "../core/events/index.js";
import type { JsonObject, JsonValue } from "../core/json/types.js";
import type { Reader, RoomReads } from "../rooms/index.js";

export class Timelines {
  private readonly slots: { readonly pdu: Pdu; readonly list: JsonValue[]; readonly index: number; readonly withRoomId: boolean }[] = [];

  /**
   * A list that holds the events' client form once `fill` has run. `withRoomId: false` leaves `room_id` out
   * (sliding sync, whose events sit under their room's id).
   */
  add(pdus: readonly Pdu[], opts: { readonly withRoomId?: boolean } = {}): JsonValue[] {
    const list: JsonValue[] = pdus.map(() => null);
    const withRoomId = opts.withRoomId ?? true;
    pdus.forEach((pdu, index) => this.slots.push({ pdu, list, index, withRoomId }));
    return list;
  }

  async fill(reads: RoomReads, reader: Reader, nowTs: number): Promise<void> {
    if (this.slots.length === 0) return;
    const json = await reads.clientEvents(this.slots.map((s) => s.pdu), nowTs, { reader, prevState: true });
    this.slots.forEach((s, i) => {
      const j = json[i]!;
      if (s.withRoomId) s.list[s.index] = j;
      else {
        const { room_id: _roomId, ...rest } = j as Record<string, JsonValue>;
        s.list[s.index] = rest as JsonObject;
      }
    });
    this.slots.length = 0;
  }
}
