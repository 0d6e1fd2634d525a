-- Remember an event id's data digest at its first sight, and say what it was first seen with.
-- Digests are fields of bucket hashes (worker/store/events.py, `Events.seen_with_other_data`),
-- one set of buckets per generation of half the event TTL: an id is looked for in the current
-- generation and the two before it, so a digest is kept at least the TTL. The field is a short
-- digest of the id since 2026-12-03 (the id itself before, still looked for), and a digest kept
-- before buckets existed (a string key of its own) is looked at too.
--
-- KEYS[1]: the id's bucket of the current generation (Keys.event_digests)
-- KEYS[2]: its bucket of the generation before
-- KEYS[3]: its bucket of the generation before that
-- KEYS[4]: the id's digest as kept before buckets (Keys.event_data)
-- ARGV[1]: the event id (the field of before)
-- ARGV[2]: the id's field (events.digest_field)
-- ARGV[3]: the digest to remember
-- ARGV[4]: when the current generation's bucket may expire (Unix milliseconds)
--
-- Returns the digest kept before (as it was kept), or false at first sight.
local current, previous, before, legacy = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local event_id, field, digest, expire_at = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local kept = redis.call('GET', legacy)
for _, bucket in ipairs({before, previous, current}) do
  kept = kept or redis.call('HGET', bucket, field) or redis.call('HGET', bucket, event_id)
end
if kept then return kept end
redis.call('HSET', current, field, digest)
redis.call('PEXPIREAT', current, expire_at)
return false
