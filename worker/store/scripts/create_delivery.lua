-- Create a delivery (other than an invoice's, which settle_window.lua creates) once: the same
-- delivery id twice has the effect of once. Its due member is due now.
--
-- KEYS[1]: the delivery hash (Keys.delivery)
-- KEYS[2]: the delivery's recipients hash (Keys.delivery_recipients): address -> state JSON
-- KEYS[3]: every delivery as it was created (Keys.created_deliveries): "<now> <delivery id>"
-- KEYS[4]: the due-time index (Keys.due): member -> due time
-- KEYS[5]: the delivery's record (Keys.delivery_record): retention folds the first two into it
-- ARGV[1]: the delivery's kind
-- ARGV[2]: the business record it is about (its key: an invoice number, an address, ...)
-- ARGV[3]: now (Unix seconds): its creation and due time
-- ARGV[4]: its recipients (JSON)
-- ARGV[5]: its locale
-- ARGV[6]: its context (JSON)
-- ARGV[7]: the recipients' first states (JSON: address -> state JSON)
-- ARGV[8]: the delivery id
-- ARGV[9]: its due member (due_members.deliver_member)
--
-- Returns 1 when created, 0 when it existed.
local delivery, recipients, deliveries, due, record = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local kind, key, now, recipient_list, locale, context = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local states, delivery_id, member = ARGV[7], ARGV[8], ARGV[9]

if redis.call('EXISTS', delivery, record) > 0 then return 0 end
redis.call('HSET', delivery, 'kind', kind, 'key', key, 'created_at', now,
  'recipients', recipient_list, 'locale', locale, 'context', context)
for address, state in pairs(cjson.decode(states)) do redis.call('HSET', recipients, address, state) end
redis.call('RPUSH', deliveries, now .. ' ' .. delivery_id)
redis.call('ZADD', due, now, member)
return 1
