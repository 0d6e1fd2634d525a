-- Claim the members that are due: hide each for a lease (its due time becomes the lease's end),
-- so that a crashed claimer's work comes back when the lease runs out. The lease it returns
-- names the claim; a heartbeat may extend it (renew_leases.lua) without changing that name.
--
-- KEYS[1]: the due-time index (Keys.due): member -> due time
-- KEYS[2]: the leased members (Keys.leased): member -> the lease it was claimed with
-- KEYS[3]: the renewed leases (Keys.lease_renewals): member -> "<lease> <expiry>"
-- ARGV[1]: now (Unix seconds): members due at or before it are claimed
-- ARGV[2]: the lease's end (Unix seconds); each member gets it plus i microseconds
-- ARGV[3]: how many members to claim at most
--
-- Returns {member, lease, member, lease, ...}.
local due, leased, renewals = KEYS[1], KEYS[2], KEYS[3]
local now, lease_end, limit = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])

local members = redis.call('ZRANGEBYSCORE', due, '-inf', now, 'LIMIT', 0, limit)
local out = {}
for i, member in ipairs(members) do
  local lease = tostring(lease_end + i * 1e-6)
  redis.call('ZADD', due, lease, member)
  redis.call('ZADD', leased, lease, member)
  redis.call('HDEL', renewals, member)  -- an earlier claim's renewal (its holder died)
  out[#out + 1] = member
  out[#out + 1] = lease
end
return out
