-- Retention: replace a delivery's hash, recipients' states and history with the record Python
-- folded them into (worker/store/delivery_records.py), if none of the four keys changed since
-- Python read them (a bounce report may have come in between: then nothing is done, and the
-- caller reads them again).
--
-- KEYS[1]: the delivery hash (Keys.delivery)
-- KEYS[2]: its recipients' states (Keys.delivery_recipients)
-- KEYS[3]: its history (Keys.delivery_log)
-- KEYS[4]: its record (Keys.delivery_record)
-- ARGV[1]: the SHA-1 (hex) of what Python read, as `what_was_read` below makes it
--          (worker.store.deliveries.read_digest makes the same)
-- ARGV[2]: the new record
--
-- Returns the bytes of the message dropped (0 for none), or -1 when a key changed.
local delivery, recipients, history, record = KEYS[1], KEYS[2], KEYS[3], KEYS[4]

local function what_was_read()
  local parts = {}
  local function add(values)
    for _, value in ipairs(values) do parts[#parts + 1] = #value .. ':' .. value end
    parts[#parts + 1] = '|'
  end
  add(redis.call('HGETALL', delivery))
  add(redis.call('HGETALL', recipients))
  add(redis.call('LRANGE', history, 0, -1))
  add({redis.call('GET', record) or ''})
  return redis.sha1hex(table.concat(parts))
end

if what_was_read() ~= ARGV[1] then return -1 end
local freed = redis.call('HSTRLEN', delivery, 'message')
local ttl = redis.call('PTTL', delivery)
redis.call('DEL', delivery, recipients, history)
redis.call('SET', record, ARGV[2])
if ttl > 0 then redis.call('PEXPIRE', record, ttl) end
return freed
