-- Apply one service.activated event, all or nothing: skip a replay, refuse a line that is not
-- on an already booked order, keep the line's earliest activation, and mark the order's window
-- due, and its subscription's later periods once a window of the order has settled lines (until
-- then an open window is one due member, not two: settle_window.lua marks the periods due).
--
-- A replay is known by the state it would change: the line's activation names the event that
-- set it. An event marker (90 days) is written only for an activation that the line's hash
-- does not name: one that came later than the line's earliest, or the earlier one it displaces.
-- One activation per line, the common case, costs no key of its own (~120 bytes each).
--
-- KEYS[1]: the event's processed marker (Keys.event)
-- KEYS[2]: the order (Keys.order), a record (order_records.py); may not be booked yet. Once it
--          is, its line state is written in the record ("o2"), the hash's taken into it
-- KEYS[3]: the order's activations hash (Keys.activations): line id -> activation, for an
--          order not booked yet (or JSON, or stored before 2026-12-07)
-- KEYS[4]: the due-time index (Keys.due): member -> due time
-- KEYS[5]: what the order's windows settled before 2026-12-04 (Keys.settled): line id -> invoice
--          number; since, in KEYS[3] under orders.py SETTLED_PREFIX, the prefix alone marking
--          that lines were settled (ARGV[9])
-- ARGV[1]: the line id
-- ARGV[2]: the activation time (Unix seconds)
-- ARGV[3]: the activation as stored (orders.activation_value)
-- ARGV[4]: when the window falls due (Unix seconds; ZADD LT keeps an earlier one)
-- ARGV[5]: how long an event marker lives (s)
-- ARGV[6]: the order's window member (due_members.window_member)
-- ARGV[7]: the pattern of a subscription's period member (pattern_of(due_members.period_member),
--          one %s): the subscription id is in the order's body, which only this script reads
-- ARGV[8]: the pattern of an event marker's name (pattern_of(Keys.event))
-- ARGV[9]: the field that marks settled lines in KEYS[3] (orders.py SETTLED_PREFIX)
--
-- Not in KEYS: the marker of the activation this one displaces. Its event id is only known
-- from the stored activation, read here; its name comes from the pattern in ARGV[8], made by
-- worker/store/keys.py (a single Redis is assumed, not Redis Cluster).
--
-- Returns 'applied', 'seen' (a replay: no effect) or 'unknown_line' (nothing changed).
--
-- requires: order_record
local event, order_key, activations, due, settled = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local line_id, ts, value, due_at, event_ttl = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5]
local window_member, period_member_pattern, event_pattern = ARGV[6], ARGV[7], ARGV[8]

-- The time and event id of a stored activation: "<ts> <time> <event id>", or JSON written
-- before 2026-11-22.
local function activation(stored)
  if string.sub(stored, 1, 1) == '{' then
    local decoded = cjson.decode(stored)
    return tonumber(decoded['ts']), decoded['event_id']
  end
  local at, id = string.match(stored, '^(%S+) %S+ (.*)$')
  return tonumber(at), id
end

local _, event_id = activation(value)
local order = redis.call('GET', order_key)
-- A booked order's line state is in its record (since 2026-12-07); the hash holds what came
-- before its booking, or before then.
local state = nil
if order and order_is_record(order) then state = order_line_state(order) end
local current = redis.call('HGET', activations, line_id) or (state and line_state_get(state, line_id))
local current_ts, current_id = nil, nil
if current then current_ts, current_id = activation(current) end
if current_id == event_id or redis.call('EXISTS', event) == 1 then return 'seen' end
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
local settled_lines = redis.call('HEXISTS', activations, ARGV[9]) == 1
  or (state and line_state_get(state, ARGV[9]) ~= nil) or redis.call('EXISTS', settled) == 1
if not current or current_ts > ts then
  if state then
    line_state_set(state, line_id, value)
    order_save_line_state(order_key, order, state, activations)
  else
    redis.call('HSET', activations, line_id, value)
  end
  if current_id then redis.call('SET', string.format(event_pattern, current_id), '1', 'EX', event_ttl) end
else
  redis.call('SET', event, '1', 'EX', event_ttl)
end
redis.call('ZADD', due, 'LT', due_at, window_member)
if subscription and settled_lines then
  redis.call('ZADD', due, 'LT', due_at, string.format(period_member_pattern, subscription))
end
return 'applied'
