-- Add an order to its subscription's orders, or take it away. A subscription's order ids are a
-- field of a bucket hash shared by many subscriptions (scripts/lib/growing_buckets.lua, an id's
-- bucket chosen by its SHA-1): ~30 B for a subscription of one order, where a hash of its own
-- cost ~140 B in every open window and every invoice. A subscription whose id or ids would not
-- fit a compact hash's field (ARGV[8] bytes, Redis's default `hash-max-listpack-value`) keeps
-- them in a hash of its own, as every subscription did before 2026-12-07 (and before
-- 2026-12-02 in a set, still read, and emptied by a removal).
--
-- KEYS[1]: the subscription's own order hash (Keys.subscription_order_ids): order id -> ''
-- KEYS[2]: the subscription's order set of before 2026-12-02 (Keys.subscription_orders)
-- KEYS[3]: the level of the subscriptions' buckets (Keys.subscription_order_level)
-- ARGV[1]: 'add' or 'remove'
-- ARGV[2]: the subscription id
-- ARGV[3]: the order id
-- ARGV[4]: the buckets' names (pattern_of(Keys.subscription_order_bucket), one %s)
-- ARGV[5]: the buckets at the first level (growing_buckets.BASE)
-- ARGV[6]: the fields of a bucket that move the level up (growing_buckets.FULL)
-- ARGV[7]: the highest level (growing_buckets.TOP_LEVEL)
-- ARGV[8]: the longest subscription id, and order ids joined, kept in a bucket (bytes:
--          growing_buckets.COMPACT_VALUE_BYTES)
--
-- Not in KEYS: the buckets, which depend on the level read here; their names come from the
-- pattern in ARGV, made by worker/store/keys.py (a single Redis is assumed, not Redis Cluster).
--
-- Returns 1 when the subscription's orders changed, else 0.
--
-- requires: growing_buckets
local own, legacy, level_key = KEYS[1], KEYS[2], KEYS[3]
local op, subscription_id, order_id, pattern = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local base, full, top, longest = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])

local number = growing_number(subscription_id)
local bucket, joined = growing_find(pattern, level_key, number, base, subscription_id)
local ids, found = {}, false
if joined then
  for id in string.gmatch(joined, '[^\n]+') do
    if id == order_id then found = true else ids[#ids + 1] = id end
  end
end

if op == 'remove' then
  local changed = redis.call('HDEL', own, order_id) + redis.call('SREM', legacy, order_id)
  if found then
    if #ids == 0 then
      redis.call('HDEL', bucket, subscription_id)
    else
      redis.call('HSET', bucket, subscription_id, table.concat(ids, '\n'))
    end
    changed = 1
  end
  return math.min(changed, 1)
end

if found or redis.call('HEXISTS', own, order_id) == 1 or redis.call('SISMEMBER', legacy, order_id) == 1 then
  return 0
end
ids[#ids + 1] = order_id
local value = table.concat(ids, '\n')
if redis.call('EXISTS', own) == 0 and #subscription_id <= longest and #value <= longest then
  if bucket then
    redis.call('HSET', bucket, subscription_id, value)
  else
    growing_put(pattern, level_key, number, base, full, top, subscription_id, value)
  end
else
  -- Too long for a bucket (or moved out before): the subscription's own hash.
  for _, id in ipairs(ids) do redis.call('HSET', own, id, '') end
  if bucket then redis.call('HDEL', bucket, subscription_id) end
end
return 1
