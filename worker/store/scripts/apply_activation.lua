-- Apply one service.activated event, all or nothing: skip a replay (the event marker), refuse a
-- line that is not on an already booked order, keep the line's earliest activation, mark the
-- order's window (and its subscription's later periods) due, and remember the event id.
--
-- KEYS[1]: the event's processed marker (Keys.event)
-- KEYS[2]: the order (Keys.order), a record (order_records.py); may not be booked yet
-- KEYS[3]: the order's activations hash (Keys.activations): line id -> activation
-- KEYS[4]: the due-time index (Keys.due): member -> due time
-- ARGV[1]: the line id
-- ARGV[2]: the activation time (Unix seconds)
-- ARGV[3]: the activation as stored (orders.activation_value)
-- ARGV[4]: when the window falls due (Unix seconds; ZADD LT keeps an earlier one)
-- ARGV[5]: how long the event marker lives (s)
-- ARGV[6]: the order's window member (due_members.window_member)
-- ARGV[7]: the pattern of a subscription's period member (pattern_of(due_members.period_member),
--          one %s): the subscription id is in the order's body, which only this script reads
--
-- Returns 'applied', 'seen' (a replay: no effect) or 'unknown_line' (nothing changed).
--
-- requires: order_record
local event, order_key, activations, due = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local line_id, ts, value, due_at, event_ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local window_member, period_member_pattern = ARGV[6], ARGV[7]

-- The time of a stored activation: "<ts> <time> <event id>", or JSON written before 2026-11-22.
local function activated_ts(stored)
  if string.sub(stored, 1, 1) == '{' then return tonumber(cjson.decode(stored)['ts']) end
  return tonumber(string.match(stored, '^%S+'))
end

if redis.call('EXISTS', event) == 1 then return 'seen' end
local order = redis.call('GET', order_key)
local subscription = nil
if order then
  local _, order_subscription, lines = order_header(order)
  local found = false
  for _, id in ipairs(lines) do
    if id == line_id then found = true break end
  end
  if not found then return 'unknown_line' end
  subscription = order_subscription
end
local current = redis.call('HGET', activations, line_id)
if not current or activated_ts(current) > tonumber(ts) then
  redis.call('HSET', activations, line_id, value)
end
redis.call('ZADD', due, 'LT', due_at, window_member)
if subscription then redis.call('ZADD', due, 'LT', due_at, string.format(period_member_pattern, subscription)) end
redis.call('SET', event, '1', 'EX', event_ttl)
return 'applied'
