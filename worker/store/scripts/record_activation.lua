-- Keep the earliest activation of an order line.
--
-- KEYS[1]: the order's activations hash (Keys.activations): line id -> activation
-- ARGV[1]: the line id
-- ARGV[2]: the activation time (Unix seconds)
-- ARGV[3]: the activation as stored (orders.activation_value: "<ts> <ISO time> <event id>")
--
-- Returns 1 when this activation was kept, 0 when an earlier (or equal) one is stored.
local activations = KEYS[1]
local line_id, ts, value = ARGV[1], ARGV[2], ARGV[3]

-- The time of a stored activation: "<ts> <time> <event id>", or JSON written before 2026-11-22.
-- (The same function is in apply_activation.lua; a unit test keeps the two copies equal.)
local function activated_ts(stored)
  if string.sub(stored, 1, 1) == '{' then return tonumber(cjson.decode(stored)['ts']) end
  return tonumber(string.match(stored, '^%S+'))
end

local current = redis.call('HGET', activations, line_id)
if current and activated_ts(current) <= tonumber(ts) then return 0 end
redis.call('HSET', activations, line_id, value)
return 1
