-- Settle a closed window (or a subscription's later periods), all or nothing: number the
-- invoice (no gaps: only on success) and create its delivery. The new delivery's due member is
-- created already claimed by the settler (until the lease), which sends it next; if it dies, the
-- lease runs out and a scheduler hands the delivery to another worker.
--
-- KEYS[1]: where what is settled is kept: an order's activations hash (Keys.activations), each
--          line under ARGV[19] and its id, or a hash of its own (Keys.subscription_periods,
--          ...): line (or period key) -> invoice number
-- KEYS[2]: the invoice number sequence (Keys.invoice_seq), which is also the index of the
--          invoices: numbers 1 to its value, each issued (no sorted set of them is kept)
-- KEYS[3]: the due-time index (Keys.due): member -> due time
-- KEYS[4]: every delivery as it was created (Keys.created_deliveries): "<now> <delivery id>"
-- KEYS[5]: the leased members (Keys.leased): member -> lease expiry
-- KEYS[6]: a hash of lines settled before (an order's Keys.settled, kept until 2026-12-04;
--          for another series KEYS[1] again): a line in it is settled too
-- KEYS[7]: a window's order (Keys.order): once booked as a record, its line state is kept in
--          it since 2026-12-07, KEYS[1]'s taken into it (scripts/lib/order_record.lua); read
--          only when ARGV[19] is not '' (for another series KEYS[1] again)
-- ARGV[1]: now (Unix seconds)
-- ARGV[2]: the invoice number format (string.format, e.g. 'INV-%07d')
-- ARGV[3]: the invoice as stored (invoice_records.py), or '' when the window billed nothing (its lines are marked '-')
-- ARGV[4]: the delivery's recipients (JSON)
-- ARGV[5]: the line ids (or period keys) settled (JSON list)
-- ARGV[6]: the delivery's locale
-- ARGV[7]: the recipients' first states (JSON: address -> state JSON)
-- ARGV[8]: until when the settler holds the delivery's due member (Unix seconds)
-- ARGV[9]: the delivery's kind (e.g. 'invoice')
-- ARGV[10]: the pattern of the delivery id, one %s for the invoice number (deliveries.py)
-- ARGV[11]: the pattern of an invoice's name (pattern_of(Keys.invoice))
-- ARGV[12]: the pattern of a delivery hash's name (pattern_of(Keys.delivery))
-- ARGV[13]: the pattern of a delivery's recipients hash (pattern_of(Keys.delivery_recipients))
-- ARGV[14]: the pattern of a delivery's due member (pattern_of(due_members.deliver_member))
-- ARGV[15]: when the invoice's first payment reminder falls due (Unix seconds), or '' for none
-- ARGV[16]: the pattern of an invoice's reminder member (pattern_of(due_members.remind_member))
-- ARGV[17]: the delivery's context (JSON), or '' for none
-- ARGV[18]: a due member to mark due now once the lines are settled, or '' for none: a window's
--           subscription's later periods (due_members.period_member), which wait for it
-- ARGV[19]: what the field of a settled line starts with in KEYS[1] ('' for a hash of its
--           own). When it is not '', it alone is a field too: the order has settled lines
--           (orders.py SETTLED_PREFIX)
--
-- Not in KEYS: the invoice, the delivery and its recipients hash. Their names hold the invoice
-- number, which this script allocates (INCR) only once it knows the lines are unsettled: taken
-- before, a lost race would leave a gap in the numbers. Their names come from the patterns in
-- ARGV, made in Python (a single Redis is assumed, not Redis Cluster).
--
-- Returns the invoice number, '' when nothing was billable, or false when another worker
-- settled any of the lines first.
--
-- requires: order_record
local settled, seq, due, deliveries, leased, before = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local now, number_format, body, recipients = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local lines = cjson.decode(ARGV[5])
local locale, states, lease, kind = ARGV[6], ARGV[7], ARGV[8], ARGV[9]
local delivery_id_pattern, invoice_pattern = ARGV[10], ARGV[11]
local delivery_pattern, recipients_pattern, member_pattern = ARGV[12], ARGV[13], ARGV[14]
local lead = ARGV[19]
local order_key = KEYS[7]

local order, line_state = nil, nil
if lead ~= '' then
  order = redis.call('GET', order_key)
  if order and order_is_record(order) then line_state = order_line_state(order) end
end
for _, line in ipairs(lines) do
  if redis.call('HEXISTS', settled, lead .. line) == 1 or redis.call('HEXISTS', before, line) == 1
    or (line_state and line_state_get(line_state, lead .. line) ~= nil) then
    return false
  end
end
local function settle(value)
  if line_state then
    for _, line in ipairs(lines) do line_state_set(line_state, lead .. line, value) end
    line_state_set(line_state, lead, '1')
    order_save_line_state(order_key, order, line_state, settled)
    return
  end
  for _, line in ipairs(lines) do redis.call('HSET', settled, lead .. line, value) end
  if lead ~= '' then redis.call('HSET', settled, lead, '1') end
end
if ARGV[18] ~= '' then redis.call('ZADD', due, 'LT', now, ARGV[18]) end
if body == '' then
  settle('-')
  return ''
end
local number = string.format(number_format, redis.call('INCR', seq))
settle(number)
redis.call('SET', string.format(invoice_pattern, number), body)
local delivery_id = string.format(delivery_id_pattern, number)
redis.call('HSET', string.format(delivery_pattern, delivery_id),
  'kind', kind, 'key', number, 'created_at', now, 'recipients', recipients, 'locale', locale)
if ARGV[17] ~= '' then
  redis.call('HSET', string.format(delivery_pattern, delivery_id), 'context', ARGV[17])
end
local rcpt = string.format(recipients_pattern, delivery_id)
for address, state in pairs(cjson.decode(states)) do
  redis.call('HSET', rcpt, address, state)
end
redis.call('RPUSH', deliveries, now .. ' ' .. delivery_id)
local member = string.format(member_pattern, delivery_id)
redis.call('ZADD', due, lease, member)
redis.call('ZADD', leased, lease, member)
if ARGV[15] ~= '' then
  redis.call('ZADD', due, ARGV[15], string.format(ARGV[16], number))
end
return number
