-- A heartbeat: extend every claim and lock one worker process holds while their work runs, in
-- one call. A claim keeps its name (the lease it was claimed with, in `leased`); its new end is
-- kept beside it (`lease_renewals`) and becomes its due time, unless the member was re-marked
-- to an earlier one meanwhile (then that time stands, as finish_due.lua expects).
--
-- KEYS[1]: the due-time index (Keys.due): member -> due time
-- KEYS[2]: the leased members (Keys.leased): member -> the lease it was claimed with
-- KEYS[3]: the renewed leases (Keys.lease_renewals): member -> "<lease> <expiry>"
-- KEYS[4..]: the locks held (Keys.lock), one per triple at the end of ARGV
-- ARGV[1]: the claims' new end (Unix seconds)
-- ARGV[2]: the locks' new time to live (ms)
-- ARGV[3]: n, how many claims follow
-- ARGV[4 .. 3+2n]: member, lease, member, lease, ... (as claimed)
-- ARGV[4+2n ..]: per lock, in the order of KEYS[4..]: its token (as SET), and the claim that
--   guards it, member and lease ('' and '' for none). A lock found expired (Redis was away
--   longer than its time to live) is taken again while that claim is still this lease's: no
--   other worker can have started the work, and none may while it runs.
--
-- Returns one status per claim, then one per lock: 1 renewed, 0 held by someone else now (a
-- lease ran out and another worker claimed it), -1 held by nobody (finished, or expired).
local due, leased, renewals = KEYS[1], KEYS[2], KEYS[3]
local expiry, lock_ttl_ms, n = ARGV[1], ARGV[2], tonumber(ARGV[3])

local out = {}
for i = 1, n do
  local member, lease = ARGV[2 + 2 * i], ARGV[3 + 2 * i]
  local held = redis.call('ZSCORE', leased, member)
  if not held then
    out[#out + 1] = -1
  elseif tonumber(held) ~= tonumber(lease) then
    out[#out + 1] = 0
  else
    local current = lease
    local renewal = redis.call('HGET', renewals, member)
    if renewal then
      local of, untl = string.match(renewal, '^(%S+) (%S+)$')
      if of and tonumber(of) == tonumber(lease) then current = untl end
    end
    local score = redis.call('ZSCORE', due, member)
    if score and tonumber(score) == tonumber(current) then redis.call('ZADD', due, expiry, member) end
    redis.call('HSET', renewals, member, lease .. ' ' .. expiry)
    out[#out + 1] = 1
  end
end
for k = 4, #KEYS do
  local at = 4 + 2 * n + 3 * (k - 4)
  local token, guard, guard_lease = ARGV[at], ARGV[at + 1], ARGV[at + 2]
  local value = redis.call('GET', KEYS[k])
  if value == token then
    redis.call('PEXPIRE', KEYS[k], lock_ttl_ms)
    out[#out + 1] = 1
  elseif value then
    out[#out + 1] = 0
  else
    local held = guard ~= '' and redis.call('ZSCORE', leased, guard)
    if held and tonumber(held) == tonumber(guard_lease) then
      redis.call('SET', KEYS[k], token, 'PX', lock_ttl_ms)
      out[#out + 1] = 1
    else
      out[#out + 1] = -1
    end
  end
end
return out
