/**
 * Building a local event (STYLE C6: pure, over preloaded state; rooms/room-service.ts loads and persists).
 * https://spec.matrix.org/v1.16/server-server-api/#auth-events-selection
 * https://spec.matrix.org/v1.16/server-server-api/#adding-hashes-and-signatures-to-outgoing-events
 *
 * 1. prev_events: the room's forward extremities, at most MAX_PREV_EVENTS (the 20 a PDU may carry), deepest first
 *    (oldest first for a dummy event merging what the others leave: extremities.ts); depth is one more than the
 *    deepest of them (1 for a create event).
 * 2. auth_events: the selection of the spec from the state before the event (the create event left out where the
 *    room id stands for it, v12).
 * 3. Hashes and our signature through core/events' buildPdu (v1-v2 event ids minted by the caller's `mintEventId`).
 * 4. The auth rules against the state before the event; a refusal is M_FORBIDDEN naming the rule.
 */
import { checkAgainstState, authEventTypesFor } from "../core/auth/index.js";
import { MatrixError } from "../core/errors.js";
import { buildPdu, MAX_PREV_EVENTS as PDU_MAX_PREV_EVENTS, PduFormatError, type EventRef, type Pdu, type PduSigner, type StateKey } from "../core/events/index.js";
import type { RoomId, UserId } from "../core/ids/index.js";
import type { JsonObject } from "../core/json/types.js";
import type { RoomVersionRules } from "../core/room-versions/index.js";

/**
 * A local event cites every forward extremity up to the limit of the PDU format (20: "Must contain less than or
 * equal to 20 events"), so one event merges a partition's forks; more are merged by later events (extremities.ts).
 */
export const MAX_PREV_EVENTS = PDU_MAX_PREV_EVENTS;

export interface LocalEventInput {
  readonly type: string;
  readonly sender: UserId;
  readonly content: JsonObject;
  readonly stateKey?: string;
  readonly redacts?: string;
}

export interface LocalEventContext {
  readonly rules: RoomVersionRules;
  /** Absent only for a v12 create event (its id names the room). */
  readonly roomId?: RoomId;
  /** The forward extremities (any number; the deepest MAX_PREV_EVENTS are cited). */
  readonly extremities: readonly Pdu[];
  /** The state before the event. */
  readonly state: (key: StateKey) => Pdu | undefined;
  readonly nowTs: number;
  readonly signer: PduSigner;
  /** v1-v2: a fresh `$opaque:server` id. */
  readonly mintEventId: () => string;
  /** Cite the shallowest extremities rather than the deepest when there are more than MAX_PREV_EVENTS (dummy events). */
  readonly oldestFirst?: boolean;
}

/** The state keys whose events decide `input` (what the caller must preload). */
export function stateNeededFor(rules: RoomVersionRules, input: LocalEventInput): StateKey[] {
  return authEventTypesFor(proto(rules, input), { rules });
}

function proto(rules: RoomVersionRules, input: LocalEventInput): Pdu {
  // authEventTypesFor reads only type, state key, sender and content.
  return { type: input.type, stateKey: input.stateKey, sender: input.sender, content: input.content, roomVersion: rules } as unknown as Pdu;
}

/** Steps 1-4: the signed PDU, or a MatrixError (403 for the auth rules, 400/413 for a malformed event). */
export function buildLocalEvent(ctx: LocalEventContext, input: LocalEventInput): Pdu {
  const { rules } = ctx;
  // Step 1
  const sign = ctx.oldestFirst ? -1 : 1;
  const prev = [...ctx.extremities].sort((a, b) => sign * (b.depth - a.depth) || (a.eventId < b.eventId ? -1 : 1)).slice(0, MAX_PREV_EVENTS);
  const depth = prev.length === 0 ? 1 : Math.max(...prev.map((p) => p.depth)) + 1;
  const ref = (p: Pdu): EventRef => {
    const hashes = p.raw["hashes"];
    const sha256 = typeof hashes === "object" && hashes !== null && !Array.isArray(hashes) ? (hashes as JsonObject)["sha256"] : undefined;
    return typeof sha256 === "string" ? { eventId: p.eventId, sha256 } : { eventId: p.eventId };
  };
  // Step 2
  const keys = authEventTypesFor(proto(rules, input), { rules, includeCreate: !rules.auth.createEventIsRoomId });
  const authEvents = keys.map((k) => ctx.state(k)).filter((p): p is Pdu => p !== undefined);
  // Step 3
  let pdu: Pdu;
  try {
    pdu = buildPdu(
      rules,
      {
        type: input.type,
        sender: input.sender,
        content: input.content,
        ...(input.stateKey !== undefined ? { stateKey: input.stateKey } : {}),
        ...(ctx.roomId !== undefined ? { roomId: ctx.roomId } : {}),
        prevEvents: prev.map(ref),
        authEvents: authEvents.map(ref),
        depth,
        originServerTs: ctx.nowTs,
        ...(input.redacts !== undefined ? { redacts: input.redacts } : {}),
        ...(rules.eventId === "server-minted" ? { eventId: ctx.mintEventId() } : {}),
      },
      ctx.signer,
    );
  } catch (e) {
    // A PduFormatError is a MatrixError already: M_TOO_LARGE (413) past 64 KiB, else M_BAD_JSON naming the field.
    if (e instanceof PduFormatError) throw new MatrixError(e.errcode, e.status, `the event would be malformed: ${e.message}`);
    throw e;
  }
  // Step 4
  const verdict = checkAgainstState(pdu, ctx.state, rules);
  if (!verdict.allowed) throw MatrixError.forbidden(`${verdict.reason} (auth rule ${verdict.rule})`);
  return pdu;
}
