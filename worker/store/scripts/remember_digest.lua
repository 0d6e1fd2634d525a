-- Remember an event id's data digest at its first sight, and say what it was first seen with.
-- Digests are fields of bucket hashes (worker/store/events.py, `Events.seen_with_other_data`),
-- one set of buckets per generation of half the event TTL: an id is looked for in the current
-- generation and the two before it, so a digest is kept at least the TTL. A digest kept before
-- buckets existed (a string key of its own) is looked at too.
--
-- KEYS[1]: the id's bucket of the current generation (Keys.event_digests)
-- KEYS[2]: its bucket of the generation before
-- KEYS[3]: its bucket of the generation before that
-- KEYS[4]: the id's digest as kept before buckets (Keys.event_data)
-- ARGV[1]: the event id
-- ARGV[2]: the digest to remember (16 bytes)
-- ARGV[3]: when the current generation's bucket may go (Unix ms): its generation's end plus two
--
-- Returns the digest the id was first seen with, or false at its first sight (now remembered).
local current, previous, before, legacy = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local event_id, digest, expire_at = ARGV[1], ARGV[2], ARGV[3]

local kept = redis.call('GET', legacy) or redis.call('HGET', before, event_id)
  or redis.call('HGET', previous, event_id) or redis.call('HGET', current, event_id)
if kept then return kept end
redis.call('HSET', current, event_id, digest)
redis.call('PEXPIREAT', current, expire_at)
return false
