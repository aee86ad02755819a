/**
 * A small room for table-driven auth tests: create (by @alice), alice's
 * join, power levels, a public join rule, @bob (level 50) and @carol (level
 * 10) joined. Each test adds state and builds one event whose auth_events
 * follow the selection algorithm against the kit's current state.
 */
import { authEventTypesFor } from "../../src/core/auth/auth-events.js";
import { stateKeyOf, type Pdu, type StateKey } from "../../src/core/events/pdu.js";
import type { JsonObject } from "../../src/core/json/types.js";
import type { RoomVersionRules } from "../../src/core/room-versions/rules.js";
import { makePdu } from "./pdu.js";

export const ALICE = "@alice:a.test";
export const BOB = "@bob:b.test";
export const CAROL = "@carol:c.test";
export const DAN = "@dan:d.test";
export const EVE = "@eve:e.test";

export interface KitOptions {
  /** Extra create content (m.federate, additional_creators, ...). */
  readonly createContent?: JsonObject;
  /** Stop after the create event (and alice's join if "join"). */
  readonly only?: "create" | "join";
}

export interface EvSpec {
  readonly type: string;
  readonly sender: string;
  readonly stateKey?: string;
  readonly content?: JsonObject;
  readonly prev?: readonly string[];
  readonly redacts?: string;
  readonly signatures?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Override the auth events (ids); default: the selection against the current state. */
  readonly auth?: readonly string[];
  readonly id?: string;
}

export class AuthKit {
  readonly roomId: string;
  readonly createId: string;
  readonly state = new Map<StateKey, Pdu>();
  readonly all = new Map<string, Pdu>();
  private seq = 0;
  private last: string;

  constructor(
    readonly rules: RoomVersionRules,
    opts: KitOptions = {},
  ) {
    const v12 = rules.auth.createEventIsRoomId;
    this.createId = v12 ? "$createroom" : "$create:a.test";
    this.roomId = v12 ? "!createroom" : "!room:a.test";
    const createContent: Record<string, unknown> = { room_version: rules.id, ...(opts.createContent ?? {}) };
    if (!rules.auth.creatorFromSender) createContent["creator"] = ALICE;
    const create = makePdu(rules, {
      id: this.createId,
      roomId: this.roomId,
      type: "m.room.create",
      sender: ALICE,
      stateKey: "",
      content: createContent as JsonObject,
      depth: 1,
    });
    this.add(create);
    this.last = create.eventId;
    if (opts.only === "create") return;
    this.add(this.ev({ type: "m.room.member", sender: ALICE, stateKey: ALICE, content: { membership: "join" } }));
    if (opts.only === "join") return;
    const users: Record<string, number> = { [BOB]: 50, [CAROL]: 10 };
    if (!rules.auth.privilegedCreators) users[ALICE] = 100;
    this.add(this.ev({ type: "m.room.power_levels", sender: ALICE, stateKey: "", content: { users } }));
    this.add(this.ev({ type: "m.room.join_rules", sender: ALICE, stateKey: "", content: { join_rule: "public" } }));
    this.join(BOB);
    this.join(CAROL);
  }

  /** Builds an event with auth_events selected from the current state and prev_events = the last added event. */
  ev(s: EvSpec): Pdu {
    const id = s.id ?? `$e${++this.seq}:${s.sender.slice(s.sender.indexOf(":") + 1)}`;
    const spec = {
      id,
      roomId: this.roomId,
      type: s.type,
      sender: s.sender,
      stateKey: s.stateKey,
      content: s.content ?? {},
      prev: s.prev ?? [this.last],
      ...(s.redacts !== undefined ? { redacts: s.redacts } : {}),
      ...(s.signatures !== undefined ? { signatures: s.signatures } : {}),
      depth: this.seq + 1,
      ts: this.seq,
    };
    const draft = makePdu(this.rules, spec);
    const auth =
      s.auth ??
      authEventTypesFor(draft, { includeCreate: !this.rules.auth.createEventIsRoomId })
        .map((k) => this.state.get(k)?.eventId)
        .filter((x): x is NonNullable<typeof x> => x !== undefined);
    return makePdu(this.rules, { ...spec, auth });
  }

  /** Adds an event to the state (and to the pool of known events). */
  add(e: Pdu): Pdu {
    this.all.set(e.eventId, e);
    if (e.stateKey !== undefined) this.state.set(stateKeyOf(e.type, e.stateKey), e);
    this.last = e.eventId;
    return e;
  }

  /** Sets a membership directly (sender defaults to the user, or alice for invite/ban). */
  member(user: string, membership: string, sender?: string, extra: JsonObject = {}): Pdu {
    const by = sender ?? (membership === "invite" || membership === "ban" ? ALICE : user);
    return this.add(this.ev({ type: "m.room.member", sender: by, stateKey: user, content: { membership, ...extra } }));
  }

  join(user: string): Pdu {
    return this.member(user, "join");
  }

  /** Replaces the power levels (sent by alice). */
  powerLevels(content: JsonObject): Pdu {
    return this.add(this.ev({ type: "m.room.power_levels", sender: ALICE, stateKey: "", content }));
  }

  /** The standard users map plus extras. */
  users(extra: Record<string, number> = {}): Record<string, number> {
    const users: Record<string, number> = { [BOB]: 50, [CAROL]: 10, ...extra };
    if (!this.rules.auth.privilegedCreators) users[ALICE] = 100;
    return users;
  }

  joinRule(rule: string, extra: JsonObject = {}): Pdu {
    return this.add(this.ev({ type: "m.room.join_rules", sender: ALICE, stateKey: "", content: { join_rule: rule, ...extra } }));
  }

  /** Every known event (for checkAuthEvents, which picks what the event cites plus the v12 create event). */
  pool(): Pdu[] {
    return [...this.all.values()];
  }
}
