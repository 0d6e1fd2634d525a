-- Finish a claimed member only if nobody re-marked it meanwhile (compare and set on the score):
-- drop it from the index, or make it due again at a next time.
--
-- KEYS[1]: the due-time index (Keys.due): member -> due time
-- KEYS[2]: the leased members (Keys.leased): member -> lease expiry
-- ARGV[1]: the member
-- ARGV[2]: the lease it was claimed with (as claim_due.lua / claim_member.lua returned it)
-- ARGV[3]: its next due time (Unix seconds), or '' to drop it
--
-- Returns 1 when the index was changed, 0 when the member was re-marked (or is gone).
local due, leased = KEYS[1], KEYS[2]
local member, lease, next_at = ARGV[1], ARGV[2], ARGV[3]

local held = redis.call('ZSCORE', leased, member)
if held and tonumber(held) == tonumber(lease) then redis.call('ZREM', leased, member) end
local score = redis.call('ZSCORE', due, member)
if not score or tonumber(score) ~= tonumber(lease) then return 0 end
if next_at == '' then redis.call('ZREM', due, member) else redis.call('ZADD', due, next_at, member) end
return 1
