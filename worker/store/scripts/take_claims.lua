-- Take claims over, as a worker starts on the members a queue message carries: each gets a new
-- lease (a new name), so that whoever held the old one (the scheduler that renewed it while the
-- message waited, a redelivered copy of the message) sees it taken and lets it go.
--
-- KEYS[1]: the due-time index (Keys.due): member -> due time
-- KEYS[2]: the leased members (Keys.leased): member -> the lease it was claimed with
-- KEYS[3]: the renewed leases (Keys.lease_renewals): member -> "<lease> <expiry>"
-- ARGV[1]: the new leases' end (Unix seconds); each member gets it plus i microseconds
-- ARGV[2]: n, how many claims follow
-- ARGV[3 .. 2+2n]: member, lease, member, lease, ... (as claimed)
--
-- Returns one new lease per claim, or '' for a claim that is no longer that lease's (finished,
-- or claimed by another worker since): it must not be worked on.
local due, leased, renewals = KEYS[1], KEYS[2], KEYS[3]
local lease_end, n = tonumber(ARGV[1]), tonumber(ARGV[2])

local out = {}
for i = 1, n do
  local member, lease = ARGV[1 + 2 * i], ARGV[2 + 2 * i]
  local held = redis.call('ZSCORE', leased, member)
  if held and tonumber(held) == tonumber(lease) then
    local current = lease
    local renewal = redis.call('HGET', renewals, member)
    if renewal then
      local of, untl = string.match(renewal, '^(%S+) (%S+)$')
      if of and tonumber(of) == tonumber(lease) then current = untl end
    end
    local new = tostring(lease_end + i * 1e-6)
    local score = redis.call('ZSCORE', due, member)
    -- Re-marked to an earlier time meanwhile: that time stands (see finish_due.lua).
    if not score or tonumber(score) == tonumber(current) then redis.call('ZADD', due, new, member) end
    redis.call('ZADD', leased, new, member)
    redis.call('HDEL', renewals, member)
    out[#out + 1] = new
  else
    out[#out + 1] = ''
  end
end
return out
