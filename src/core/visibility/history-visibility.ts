/**
 * History visibility: whether a user, or a server, may see an event.
 * https://spec.matrix.org/v1.19/client-server-api/#room-history-visibility
 * ("Room History Visibility", Server behaviour, rules 1-5 and the two
 * special cases for m.room.history_visibility and the user's own
 * m.room.member events).
 *
 * Everything is decided on the state *at* the event, which here means the
 * state before it; the special cases look at the state after it too, which
 * the event itself gives.
 */
import type { ServerName, UserId } from "../ids/index.js";
import type { JsonObject, JsonValue } from "../json/types.js";

export type HistoryVisibility = "world_readable" | "shared" | "invited" | "joined";
export type Membership = "join" | "invite" | "leave" | "ban" | "knock";

const VISIBILITIES: ReadonlySet<string> = new Set(["world_readable", "shared", "invited", "joined"]);
const MEMBERSHIPS: ReadonlySet<string> = new Set(["join", "invite", "leave", "ban", "knock"]);

function field(content: JsonValue | undefined, key: string): JsonValue | undefined {
  if (typeof content !== "object" || content === null || Array.isArray(content)) return undefined;
  const o = content as JsonObject;
  return Object.prototype.hasOwnProperty.call(o, key) ? o[key] : undefined;
}

/**
 * The visibility an m.room.history_visibility content sets: "if no
 * history_visibility is set, or if the value is not understood, the
 * visibility is assumed to be shared".
 */
export function historyVisibilityOf(content: JsonValue | undefined): HistoryVisibility {
  const v = field(content, "history_visibility");
  return typeof v === "string" && VISIBILITIES.has(v) ? (v as HistoryVisibility) : "shared";
}

/** The membership an m.room.member content sets, or null for a value Zion does not know. */
export function membershipOf(content: JsonValue | undefined): Membership | null {
  const v = field(content, "membership");
  return typeof v === "string" && MEMBERSHIPS.has(v) ? (v as Membership) : null;
}

/** The parts of an event visibility needs. */
export interface VisibilityEvent {
  readonly type: string;
  readonly state_key?: string;
  readonly content?: JsonValue;
}

export interface UserVisibilityInput {
  readonly userId: UserId;
  readonly event: VisibilityEvent;
  /** m.room.history_visibility in the state before the event. */
  readonly historyVisibility: HistoryVisibility;
  /** The user's membership in the state before the event (null: none). */
  readonly membershipAtEvent: Membership | null;
  /** The user's membership now. */
  readonly currentMembership: Membership | null;
  /**
   * Whether the user joined at some point after the event. Optional: a
   * current membership of `join` implies it; pass true for a user who joined
   * later and has since left.
   */
  readonly joinedAfterEvent?: boolean;
}

export type VisibilityRule =
  | "1: world_readable"
  | "2: joined at the event"
  | "3: shared and joined since"
  | "4: invited at the event under invited"
  | "5: otherwise deny";

export interface VisibilityVerdict {
  readonly visible: boolean;
  readonly rule: VisibilityRule;
}

function decide(vis: HistoryVisibility, membership: Membership | null, joinedSince: boolean): VisibilityVerdict {
  if (vis === "world_readable") return { visible: true, rule: "1: world_readable" };
  if (membership === "join") return { visible: true, rule: "2: joined at the event" };
  if (vis === "shared" && joinedSince) return { visible: true, rule: "3: shared and joined since" };
  if (membership === "invite" && vis === "invited") return { visible: true, rule: "4: invited at the event under invited" };
  return { visible: false, rule: "5: otherwise deny" };
}

/** The visibilities and memberships to try: before the event, and after it for the two special cases. */
function candidates<M>(event: VisibilityEvent, vis: HistoryVisibility, own: (stateKey: string) => boolean, membership: M, after: (m: Membership | null) => M) {
  const visibilities = [vis];
  if (event.type === "m.room.history_visibility" && event.state_key === "") visibilities.push(historyVisibilityOf(event.content));
  const memberships = [membership];
  if (event.type === "m.room.member" && event.state_key !== undefined && own(event.state_key)) memberships.push(after(membershipOf(event.content)));
  return { visibilities, memberships };
}

/** Whether a local user may see an event (rules 1-5, with the special cases). */
export function userMaySeeEvent(input: UserVisibilityInput): VisibilityVerdict {
  const joinedSince = input.joinedAfterEvent === true || input.currentMembership === "join";
  const { visibilities, memberships } = candidates(input.event, input.historyVisibility, (k) => k === input.userId, input.membershipAtEvent, (m) => m);
  let last: VisibilityVerdict | undefined;
  for (const v of visibilities) {
    for (const m of memberships) {
      last = decide(v, m, joinedSince);
      if (last.visible) return last;
    }
  }
  return last!;
}

export interface ServerVisibilityInput {
  readonly server: ServerName;
  readonly event: VisibilityEvent;
  /** m.room.history_visibility in the state before the event. */
  readonly historyVisibility: HistoryVisibility;
  /** Memberships, in the state before the event, of that server's users who had one. */
  readonly membershipsAtEvent: ReadonlyMap<UserId, Membership>;
}

export type ServerVisibilityRule = "world_readable or shared" | "a user was invited or joined under invited" | "a user was joined" | "no user could see it";

/**
 * Whether a remote server may see an event (for /backfill,
 * /get_missing_events, /event): it may if any of its users may. The
 * server-server spec leaves the details to the client rules; as Synapse
 * does, a server asking about a `shared` or `world_readable` event is
 * answered (it is in the room, so its users joined after the event), and for
 * `invited` and `joined` one of its users must have been invited or joined
 * (or joined) at the event. The special cases apply: the state after an
 * m.room.history_visibility event, and after a member event of one of its
 * users, count too.
 */
export function serverMaySeeEvent(input: ServerVisibilityInput): { readonly visible: boolean; readonly rule: ServerVisibilityRule } {
  const mine = (k: string) => k.startsWith("@") && k.slice(k.indexOf(":") + 1) === input.server;
  const now = [...input.membershipsAtEvent.values()];
  const { visibilities, memberships } = candidates<readonly (Membership | null)[]>(input.event, input.historyVisibility, mine, now, (m) => {
    const others = [...input.membershipsAtEvent].filter(([u]) => u !== input.event.state_key).map(([, x]) => x);
    return [...others, m];
  });
  for (const v of visibilities) {
    if (v === "world_readable" || v === "shared") return { visible: true, rule: "world_readable or shared" };
    for (const ms of memberships) {
      if (v === "invited" && ms.some((m) => m === "invite" || m === "join")) return { visible: true, rule: "a user was invited or joined under invited" };
      if (v === "joined" && ms.includes("join")) return { visible: true, rule: "a user was joined" };
    }
  }
  return { visible: false, rule: "no user could see it" };
}
