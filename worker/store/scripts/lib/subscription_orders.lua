-- A subscription's order ids, sorted: those of its hash (Keys.subscription_order_ids) and of the
-- set it had before (Keys.subscription_orders). Spliced into the scripts that name it in a
-- "-- requires: subscription_orders" line (worker/store/connection.py).
local function subscription_order_ids(set_key, hash_key)
  local ids, seen = {}, {}
  for _, id in ipairs(redis.call('HKEYS', hash_key)) do
    seen[id] = true
    ids[#ids + 1] = id
  end
  for _, id in ipairs(redis.call('SMEMBERS', set_key)) do
    if not seen[id] then ids[#ids + 1] = id end
  end
  table.sort(ids)
  return ids
end
