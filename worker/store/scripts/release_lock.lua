-- Release a lock only if this holder still holds it (compare and delete).
--
-- KEYS[1]: the lock (Keys.lock)
-- ARGV[1]: the holder's token (as it was SET)
--
-- Returns 1 when released, 0 when someone else holds it (or it expired).
local lock = KEYS[1]
local token = ARGV[1]

if redis.call('GET', lock) == token then return redis.call('DEL', lock) end
return 0
