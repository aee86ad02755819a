-- Out-of-band memberships: a local user's membership of a room this server does not hold (an invite received over
-- federation, the leave rejecting it, a knock sent to another server). The member event is stored as an outlier and
-- the membership goes into current_memberships and membership_stream like any other (so /sync finds it), but never
-- into the room's state. This table keeps the stripped state the remote server sent with the invite (or knock), which
-- /sync shows in invite_state (knock_state) instead of a current state Zion does not have. docs/storage.md.
CREATE TABLE membership_stripped_state (
  event_id TEXT NOT NULL PRIMARY KEY,
  room_id TEXT NOT NULL,
  -- A JSON array of stripped state events ({type, state_key, content, sender}).
  stripped_state TEXT NOT NULL
);
