-- Remember an event id's data digest at its first sight, and say what it was first seen with.
-- Digests are fields of bucket hashes (worker/store/events.py, `Events.seen_with_other_data`),
-- one set of buckets per generation of half the event TTL: an id is looked for in the current
-- generation and the two before it, so a digest is kept at least the TTL.
--
-- A generation's buckets grow with its events (scripts/lib/growing_buckets.lua), an id's bucket
-- chosen by its SHA-1 (`growing_number`): a few dozen for a few thousand events, not thousands of near-empty
-- ones. Before 2026-12-07 there were 4,096 fixed buckets, chosen by the id's CRC-32 (the first
-- three KEYS, still looked at); before 2026-12-03 the field was the id itself, and before buckets existed a digest was a
-- string key of its own (the fourth).
--
-- KEYS[1]: the id's bucket of the current generation as kept before levels (Keys.event_digests)
-- KEYS[2]: the same of the generation before
-- KEYS[3]: the same of the generation before that
-- KEYS[4]: the id's digest as kept before buckets (Keys.event_data)
-- KEYS[5]: the level of the current generation (Keys.event_digest_level; absent: 0)
-- KEYS[6]: the level of the generation before
-- KEYS[7]: the level of the generation before that
-- ARGV[1]: the event id (the field before 2026-12-03)
-- ARGV[2]: the id's field (events.digest_field)
-- ARGV[3]: the digest to remember
-- ARGV[4]: when the current generation's keys may expire (Unix milliseconds)
-- ARGV[5]: the current generation's bucket names (pattern_of(Keys.event_digest_bucket), one %s
--          for "<level>:<bucket>")
-- ARGV[6]: the same of the generation before
-- ARGV[7]: the same of the generation before that
-- ARGV[8]: BASE, the buckets at level 0
-- ARGV[9]: FULL, the fields of a bucket that move its generation to the next level
-- ARGV[10]: the highest level
--
-- Not in KEYS: the buckets of each level, which depend on the levels read here; their names
-- come from the patterns in ARGV, made by worker/store/keys.py (a single Redis is assumed, not
-- Redis Cluster).
--
-- Returns the digest kept before (as it was kept), or false at first sight.
-- requires: growing_buckets
local fixed = {KEYS[1], KEYS[2], KEYS[3]}
local legacy = KEYS[4]
local levels = {KEYS[5], KEYS[6], KEYS[7]}
local event_id, field, digest, expire_at = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local number = growing_number(event_id)
local patterns = {ARGV[5], ARGV[6], ARGV[7]}
local base, full, top = tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])

local kept = redis.call('GET', legacy)
for g = 3, 1, -1 do -- the oldest generation first
  if kept then return kept end
  kept = redis.call('HGET', fixed[g], field) or redis.call('HGET', fixed[g], event_id)
  if not kept then
    local _
    _, kept = growing_find(patterns[g], levels[g], number, base, field)
  end
end
if kept then return kept end

local bucket = growing_put(patterns[1], levels[1], number, base, full, top, field, digest)
redis.call('PEXPIREAT', bucket, expire_at)
redis.call('PEXPIREAT', levels[1], expire_at)
return false
