-- Keep the later of two snapshots of an account: events may arrive out of order.
--
-- KEYS[1]: the account hash (Keys.account): occurred_at, body
-- ARGV[1]: when the snapshot's event occurred (Unix seconds)
-- ARGV[2]: the account as JSON
--
-- Returns 1 when the snapshot was kept, 0 when the stored one is later.
local account = KEYS[1]
local occurred_at, body = ARGV[1], ARGV[2]

local current = redis.call('HGET', account, 'occurred_at')
if current and tonumber(current) > tonumber(occurred_at) then return 0 end
redis.call('HSET', account, 'occurred_at', occurred_at, 'body', body)
return 1
