-- Retention: drop large fields of a hash (a built message, an invoice's PDF and XML), set a few
-- small ones, and write the hash anew. A hash that once held a large value stays in Redis's
-- hashtable encoding for good; written anew, what is left takes the compact listpack when every
-- value fits `hash-max-listpack-value` (README, "Redis memory": ~500 B instead of ~1,250 for a
-- delivered invoice's delivery).
--
-- KEYS[1]: the hash
-- ARGV[1]: a field that must be in it for anything to be dropped, or '' for none
-- ARGV[2]: how many fields to drop (n); ARGV[3] .. ARGV[2 + n]: those fields
-- ARGV[3 + n] ..: field, value pairs to set
--
-- Returns the bytes of the values dropped (0: nothing was, or the hash or the required field is missing).
local hash, required, n = KEYS[1], ARGV[1], tonumber(ARGV[2])

if redis.call('EXISTS', hash) == 0 then return 0 end
if required ~= '' and redis.call('HEXISTS', hash, required) == 0 then return 0 end
local dropped, freed = {}, 0
for i = 3, 2 + n do
  dropped[ARGV[i]] = true
  freed = freed + redis.call('HSTRLEN', hash, ARGV[i])
end
local kept = {}
local all = redis.call('HGETALL', hash)
for i = 1, #all, 2 do
  if not dropped[all[i]] then
    kept[#kept + 1] = all[i]
    kept[#kept + 1] = all[i + 1]
  end
end
for i = 3 + n, #ARGV, 2 do
  kept[#kept + 1] = ARGV[i]
  kept[#kept + 1] = ARGV[i + 1]
end
local ttl = redis.call('PTTL', hash)
redis.call('DEL', hash)
if #kept > 0 then
  redis.call('HSET', hash, unpack(kept))
  if ttl > 0 then redis.call('PEXPIRE', hash, ttl) end
end
return freed
