-- Count an unforeseen error of a due member (or of an event, `event:<id>`), and hold it back
-- until its retry (a wait doubling with each attempt): due then, and counted as leased
-- meanwhile, so that a burst run waits for it. At the limit a claimed member is left as it is:
-- the caller dead-letters it, then drops it (finish_due.lua), so a worker that dies in between
-- only makes it fail once more, never loses its dead letter.
--
-- KEYS[1]: the due-time index (Keys.due): member -> due time
-- KEYS[2]: the leased members (Keys.leased): member -> the lease it was claimed with
-- KEYS[3]: the renewed leases (Keys.lease_renewals): member -> "<lease> <expiry>"
-- KEYS[4]: the unforeseen failures (Keys.due_failures): member -> attempts
-- ARGV[1]: the member
-- ARGV[2]: the lease it was claimed with, or '' when it was not claimed (an event of a chunk,
--   just parked: at the limit it is dropped from the index here)
-- ARGV[3]: how many attempts it gets
-- ARGV[4]: now (Unix seconds)
-- ARGV[5]: the wait after its first attempt (s); doubled after each further one
--
-- Returns the attempts so far, this one included; 0 when the claim is no longer this lease's
-- (another worker claimed it, or it was finished): nothing is counted or changed.
local due, leased, renewals, failures = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local member, lease, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])
local now, first_wait = tonumber(ARGV[4]), tonumber(ARGV[5])

if lease ~= '' then
  local held = redis.call('ZSCORE', leased, member)
  if not held or tonumber(held) ~= tonumber(lease) then return 0 end
end
local attempts = redis.call('HINCRBY', failures, member, 1)
if attempts >= limit then
  if lease == '' then
    redis.call('ZREM', due, member)
    redis.call('ZREM', leased, member)
    redis.call('HDEL', failures, member)
  end
  return attempts
end
local retry_at = tostring(now + first_wait * 2 ^ (attempts - 1))
redis.call('HDEL', renewals, member)
redis.call('ZADD', due, retry_at, member)
redis.call('ZADD', leased, retry_at, member)
return attempts
