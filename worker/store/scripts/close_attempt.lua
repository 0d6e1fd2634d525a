-- Record one attempt's outcome and release the delivery's lock, once: the attempt is named by
-- the lock token it was made under, so a write that timed out after it ran (Redis stalled, or
-- restarted after taking it) and is written again (services/outcomes.py) changes nothing the
-- second time. The outcome is recorded even when the lock has run out meanwhile: what the relay
-- answered is true whoever holds the delivery now.
--
-- KEYS[1]: the delivery (Keys.delivery): its field `closed_by` is the token of the last attempt recorded
-- KEYS[2]: its recipients' states (Keys.delivery_recipients): address -> state JSON
-- KEYS[3]: its history (Keys.delivery_log)
-- KEYS[4]: its lock (Keys.lock of "delivery:<id>")
-- KEYS[5]: its record (Keys.delivery_record): what retention folded its keys into, if it did
-- ARGV[1]: the lock token of the attempt
-- ARGV[2]: the recipients' new states, a JSON object address -> state JSON ('{}' for none)
-- ARGV[3]: the attempt's history entry (JSON), or '' for none
--
-- Returns 1 when recorded, 0 when this attempt was recorded before.
local delivery, recipients, history, lock, record = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local token, states, entry = ARGV[1], ARGV[2], ARGV[3]

if redis.call('HGET', delivery, 'closed_by') == token then return 0 end
for address, state in pairs(cjson.decode(states)) do
  redis.call('HSET', recipients, address, state)
end
if entry ~= '' then redis.call('RPUSH', history, entry) end
if redis.call('EXISTS', delivery, record) > 0 then redis.call('HSET', delivery, 'closed_by', token) end
if redis.call('GET', lock) == token then redis.call('DEL', lock) end
return 1
