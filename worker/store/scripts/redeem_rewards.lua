-- Apply a planned rewards redemption once per event id, only if the lots it read and the
-- invoice's redeemed total are unchanged (compare and set; the caller re-plans on 'conflict').
--
-- KEYS[1]: the account's reward lots hash (Keys.reward_lots): lot id -> lot JSON
-- KEYS[2]: the invoice's redeemed total (Keys.rewards_redeemed), a decimal string
-- KEYS[3]: the event's applied redemption (Keys.redemption), JSON
-- ARGV[1]: the redeemed total the plan read ('' when none)
-- ARGV[2]: the new redeemed total
-- ARGV[3]: the redemption record (JSON)
-- ARGV[4]: the lot changes, JSON [[lot id, lot JSON read, new lot JSON], ...]
--
-- Returns 'applied', 'done' (this event was applied before) or 'conflict'.
local lots, redeemed, redemption = KEYS[1], KEYS[2], KEYS[3]
local expected_redeemed, new_redeemed, record = ARGV[1], ARGV[2], ARGV[3]
local changes = cjson.decode(ARGV[4])

if redis.call('EXISTS', redemption) == 1 then return 'done' end
local current = redis.call('GET', redeemed) or ''
if current ~= expected_redeemed then return 'conflict' end
for _, change in ipairs(changes) do
  if (redis.call('HGET', lots, change[1]) or '') ~= change[2] then return 'conflict' end
end
for _, change in ipairs(changes) do redis.call('HSET', lots, change[1], change[3]) end
redis.call('SET', redeemed, new_redeemed)
redis.call('SET', redemption, record)
return 'applied'
