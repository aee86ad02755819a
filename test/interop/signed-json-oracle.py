"""Synapse as an oracle for Zion's signed-JSON core (test/interop/signed-json.test.ts).

Reads a JSON list of {"version", "event"} cases (path in argv[1]) and, with the pinned Synapse's own functions,
writes for each: the canonical JSON, the content hash, the redacted event, the event hashed and signed with the
spec's test seed as "zion.test" ed25519:1, and the event id Synapse derives for the signed event.
"""
import hashlib
import json
import sys

from canonicaljson import encode_canonical_json
from signedjson.key import decode_signing_key_base64
from unpaddedbase64 import encode_base64

from synapse.api.room_versions import KNOWN_ROOM_VERSIONS
from synapse.crypto.event_signing import add_hashes_and_signatures, compute_content_hash
from synapse.events import make_event_from_dict
from synapse.synapse_rust.events import redact_event_dict

SEED = "YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1"

key = decode_signing_key_base64("ed25519", "1", SEED)
cases = json.load(open(sys.argv[1], encoding="utf-8"))
out = []
for case in cases:
    rv = KNOWN_ROOM_VERSIONS[case["version"]]
    ev = case["event"]
    r = {
        "canonical": encode_canonical_json(ev).decode("utf-8"),
        "content_hash": encode_base64(compute_content_hash(ev, hashlib.sha256)[1]),
    }
    redacted = redact_event_dict(rv, ev)
    redacted.pop("unsigned", None)  # Synapse keeps a local unsigned (age_ts); the spec's algorithm drops it
    r["redacted"] = redacted
    signed = json.loads(json.dumps(ev))
    add_hashes_and_signatures(rv, signed, "zion.test", key)
    r["signed"] = signed
    try:
        r["event_id"] = make_event_from_dict(signed, rv).event_id
    except Exception as e:  # an event Synapse cannot hold; the test counts these
        r["event_id_error"] = repr(e)
    out.append(r)
json.dump(out, sys.stdout, ensure_ascii=False)
