"""Synapse as an oracle for Zion's authorization rules and state resolution (test/interop/convergence.test.ts).

Our own driver around the pinned Synapse's functions. Reads one JSON object {"events": [...], "cases": [...]} on
stdin and writes one JSON list of verdicts on stdout, in the same order. Cases name events by their index in
"events" (each event is built once per rejection status). A case is either

  {"kind": "auth", "version", "mode": "auth_events" | "state", "event", "auth_events": [...], "rejected": [ids]}
      mode "auth_events": the checks on receipt against the event's own auth events, as Synapse runs them:
        validate_event_for_room_version, check_state_independent_auth_rules, check_state_dependent_auth_rules;
      mode "state": validate_event_for_room_version, then check_state_dependent_auth_rules against the given
        events as the room state
      -> {"allowed": bool, "error"?: str, "exception"?: str}   ("exception": not an AuthError/SynapseError)

  {"kind": "state", "version", "room_id", "state_sets": [[[type, state_key, event_id], ...], ...],
   "events": [...], "rejected": [ids]}
      synapse.state.v1.resolve_events_with_store (its store path: rejected events are invisible to it) or
      synapse.state.v2.resolve_events_with_store, every event handed over in event_map (the in-memory path)
      -> {"state": [[type, state_key, event_id], ...]} | {"error": str, "exception": str}
"""
import json
import sys
import traceback

from synapse.api.errors import SynapseError
from synapse.api.room_versions import KNOWN_ROOM_VERSIONS, StateResolutionVersions
from synapse.event_auth import (
    check_state_dependent_auth_rules,
    check_state_independent_auth_rules,
    validate_event_for_room_version,
)
from synapse.events import make_event_from_dict
from synapse.state import v1 as state_v1
from synapse.state import v2 as state_v2
from synapse.storage.databases.main.event_federation import StateDifference


def run(coro):
    """Runs a coroutine that never really suspends (every store call below answers at once)."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    raise RuntimeError("a Synapse coroutine suspended; the in-memory store never does")


EVENTS = []
_built = {}


def make(index, room_version, rejected):
    key = (index, room_version.identifier, rejected)
    ev = _built.get(key)
    if ev is None:
        ev = make_event_from_dict(EVENTS[index], room_version, rejected_reason="auth_error" if rejected else None)
        _built[key] = ev
    return ev


def events_by_id(indices, room_version, rejected):
    """The events named by index, keyed by event id, each marked rejected if its id is in `rejected`."""
    out = {}
    for i in indices:
        eid = make(i, room_version, False).event_id
        out[eid] = make(i, room_version, eid in rejected)
    return out


class Store:
    """The in-memory event store both auth and state resolution read."""

    def __init__(self, events):
        self.events = events

    async def get_events(self, event_ids, redact_behaviour=None, get_prev_content=False, allow_rejected=False):
        out = {}
        for i in event_ids:
            ev = self.events.get(i)
            if ev is not None and (allow_rejected or ev.rejected_reason is None):
                out[i] = ev
        return out

    async def get_auth_chain_difference(self, room_id, state_sets, conflicted_state, additional_backwards_reachable_conflicted_events):
        # Every event is handed to resolve_events_with_store in event_map (unpersisted), so Synapse computes the
        # auth difference and the v2.1 subgraph itself and asks the store only about persisted events: none.
        assert all(not s for s in state_sets), "the store holds no persisted events"
        return StateDifference(auth_difference=set(), conflicted_subgraph=set() if conflicted_state is not None else None)


class Clock:
    async def sleep(self, duration):
        return None


def verdict_of(f):
    try:
        f()
        return {"allowed": True}
    except SynapseError as e:  # AuthError is a SynapseError
        return {"allowed": False, "error": f"{type(e).__name__}: {e.msg}"}
    except Exception as e:  # a crash inside the rules (ValueError from int(), KeyError, ...)
        return {"allowed": False, "error": f"{type(e).__name__}: {e}", "exception": type(e).__name__}


def auth_case(case):
    rv = KNOWN_ROOM_VERSIONS[case["version"]]
    others = events_by_id(case["auth_events"], rv, set(case.get("rejected", [])))
    event = make(case["event"], rv, False)
    if case["mode"] == "state":
        # The receipt checks of the event itself (signatures present, sizes) and the rules against the state.
        def against_state():
            validate_event_for_room_version(event)
            check_state_dependent_auth_rules(event, list(others.values()))

        return verdict_of(against_state)

    def receipt():
        validate_event_for_room_version(event)
        run(check_state_independent_auth_rules(Store(others), event))
        check_state_dependent_auth_rules(event, [others[i] for i in event.auth_event_ids() if i in others])

    return verdict_of(receipt)


def state_case(case):
    rv = KNOWN_ROOM_VERSIONS[case["version"]]
    events = events_by_id(case["events"], rv, set(case.get("rejected", [])))
    state_sets = [{(t, k): i for t, k, i in s} for s in case["state_sets"]]
    store = Store(events)
    try:
        if rv.state_res == StateResolutionVersions.V1:
            resolved = run(state_v1.resolve_events_with_store(case["room_id"], rv, state_sets, None, lambda ids: store.get_events(ids)))
        else:
            resolved = run(state_v2.resolve_events_with_store(Clock(), case["room_id"], rv, state_sets, dict(events), store))
    except Exception as e:
        return {"error": f"{type(e).__name__}: {e}", "exception": type(e).__name__}
    return {"state": sorted([t, k, i] for (t, k), i in resolved.items())}


def main():
    data = json.load(sys.stdin)
    EVENTS.extend(data["events"])
    cases = data["cases"]
    out = []
    for case in cases:
        try:
            out.append(auth_case(case) if case["kind"] == "auth" else state_case(case))
        except Exception as e:  # a case the driver could not even set up (e.g. make_event_from_dict refused it)
            out.append({"driver_error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc(limit=3)})
    json.dump(out, sys.stdout)


main()
