-- Finish a claimed member only if nobody re-marked it meanwhile (compare and set on the score):
-- drop it from the index, or make it due again at a next time. Its run ended without an
-- unforeseen error, so its count of those (fail_due.lua) starts again.
--
-- KEYS[1]: the due-time index (Keys.due): member -> due time
-- KEYS[2]: the leased members (Keys.leased): member -> the lease it was claimed with
-- KEYS[3]: the renewed leases (Keys.lease_renewals): member -> "<lease> <expiry>"
-- KEYS[4]: the unforeseen failures (Keys.due_failures): member -> attempts
-- ARGV[1]: the member
-- ARGV[2]: the lease it was claimed with (as claim_due.lua / claim_member.lua returned it)
-- ARGV[3]: its next due time (Unix seconds), or '' to drop it
--
-- Returns 1 when the index was changed, 0 when the member was re-marked (or is gone).
local due, leased, renewals, failures = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local member, lease, next_at = ARGV[1], ARGV[2], ARGV[3]

-- The due time the claim left: its lease's end, or the end a heartbeat renewed it to.
local expiry = lease
local held = redis.call('ZSCORE', leased, member)
if held and tonumber(held) == tonumber(lease) then
  local renewal = redis.call('HGET', renewals, member)
  if renewal then
    local of, untl = string.match(renewal, '^(%S+) (%S+)$')
    if of and tonumber(of) == tonumber(lease) then expiry = untl end
  end
  redis.call('ZREM', leased, member)
  redis.call('HDEL', renewals, member)
  redis.call('HDEL', failures, member)
end
local score = redis.call('ZSCORE', due, member)
if not score or tonumber(score) ~= tonumber(expiry) then return 0 end
if next_at == '' then redis.call('ZREM', due, member) else redis.call('ZADD', due, next_at, member) end
return 1
