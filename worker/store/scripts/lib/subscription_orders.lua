-- A subscription's order ids, sorted: those of its field in the subscriptions' buckets
-- (Keys.subscription_order_bucket, scripts/subscription_order.lua), of its own hash
-- (Keys.subscription_order_ids) and of the set it had before 2026-12-02
-- (Keys.subscription_orders). Spliced, after growing_buckets, into the scripts that name it in a
-- "-- requires: subscription_orders" line (worker/store/connection.py).
local function subscription_order_ids(set_key, hash_key, subscription_id, bucket_pattern, level_key, base)
  local ids, seen = {}, {}
  local function add(id)
    if not seen[id] then
      seen[id] = true
      ids[#ids + 1] = id
    end
  end
  local _, joined = growing_find(bucket_pattern, level_key, growing_number(subscription_id), base, subscription_id)
  if joined then
    for id in string.gmatch(joined, '[^\n]+') do add(id) end
  end
  for _, id in ipairs(redis.call('HKEYS', hash_key)) do add(id) end
  for _, id in ipairs(redis.call('SMEMBERS', set_key)) do add(id) end
  table.sort(ids)
  return ids
end
