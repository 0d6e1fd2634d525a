-- Claim the members that are due: hide each for a lease (its due time becomes the lease's end),
-- so that a crashed claimer's work comes back when the lease runs out.
--
-- KEYS[1]: the due-time index (Keys.due): member -> due time
-- KEYS[2]: the leased members (Keys.leased): member -> lease expiry
-- ARGV[1]: now (Unix seconds): members due at or before it are claimed
-- ARGV[2]: the lease's end (Unix seconds); each member gets it plus i microseconds
-- ARGV[3]: how many members to claim at most
--
-- Returns {member, lease, member, lease, ...}.
local due, leased = KEYS[1], KEYS[2]
local now, lease_end, limit = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])

local members = redis.call('ZRANGEBYSCORE', due, '-inf', now, 'LIMIT', 0, limit)
local out = {}
for i, member in ipairs(members) do
  local lease = tostring(lease_end + i * 1e-6)
  redis.call('ZADD', due, lease, member)
  redis.call('ZADD', leased, lease, member)
  out[#out + 1] = member
  out[#out + 1] = lease
end
return out
