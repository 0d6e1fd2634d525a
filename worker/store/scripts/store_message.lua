-- Keep the first built message of a delivery (and its Message-ID), and save the recipients'
-- "sending" states with it.
--
-- KEYS[1]: the delivery hash (Keys.delivery): message, message_id, ...
-- KEYS[2]: the delivery's recipients hash (Keys.delivery_recipients): address -> state JSON
-- ARGV[1]: the built message, sealed (bytes: worker/store/cipher.py, bound to KEYS[1] and "message")
-- ARGV[2]: its Message-ID
-- ARGV[3]: recipient states to save (JSON: address -> state JSON; may be empty)
--
-- Returns the message stored before, if there was one, else false: a 20 KB message need not
-- travel back.
local delivery, recipients = KEYS[1], KEYS[2]
local message, message_id, states = ARGV[1], ARGV[2], ARGV[3]

local first = redis.call('HSETNX', delivery, 'message', message) == 1
redis.call('HSETNX', delivery, 'message_id', message_id)
for address, state in pairs(cjson.decode(states)) do redis.call('HSET', recipients, address, state) end
if first then return false end
return redis.call('HGET', delivery, 'message')
