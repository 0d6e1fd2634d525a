-- Claim one member if it is due: hide it for a lease, as claim_due.lua does.
--
-- KEYS[1]: the due-time index (Keys.due): member -> due time
-- KEYS[2]: the leased members (Keys.leased): member -> the lease it was claimed with
-- KEYS[3]: the renewed leases (Keys.lease_renewals): member -> "<lease> <expiry>"
-- ARGV[1]: the member
-- ARGV[2]: now (Unix seconds)
-- ARGV[3]: the lease's end (Unix seconds)
--
-- Returns the lease, or false when the member is not due (or not in the index).
local due, leased, renewals = KEYS[1], KEYS[2], KEYS[3]
local member, now, lease = ARGV[1], ARGV[2], ARGV[3]

local score = redis.call('ZSCORE', due, member)
if not score or tonumber(score) > tonumber(now) then return false end
redis.call('ZADD', due, lease, member)
redis.call('ZADD', leased, lease, member)
redis.call('HDEL', renewals, member)
return lease
