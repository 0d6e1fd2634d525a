-- Everything closing an order's windows reads, in one round trip: the order, its account's
-- snapshot, its activations and settled lines, and the other orders of its subscription.
--
-- KEYS[1]: the order (Keys.order), a record (order_records.py)
-- KEYS[2]: the order's activations hash (Keys.activations)
-- KEYS[3]: the order's settled lines hash of before 2026-12-04 (Keys.settled); since, they are in KEYS[2]
-- KEYS[4]: the level of the subscriptions' order buckets (Keys.subscription_order_level)
-- ARGV[1]: the order id
-- ARGV[2]: the pattern of an account hash's name (pattern_of(Keys.account): one %s)
-- ARGV[3]: the pattern of a subscription's order set (pattern_of(Keys.subscription_orders))
-- ARGV[4]: the pattern of an order's name (pattern_of(Keys.order))
-- ARGV[5]: the pattern of a subscription's order hash (pattern_of(Keys.subscription_order_ids))
-- ARGV[6]: the subscriptions' order buckets (pattern_of(Keys.subscription_order_bucket))
-- ARGV[7]: the buckets at their first level (growing_buckets.BASE)
--
-- Not in KEYS: the account hash, the subscription's order ids (in its bucket, its own hash or
-- set) and the sibling orders. Their ids are only known from the order's header and the
-- subscription's ids, read here; reading the order first would cost every window close a
-- second round trip. Their names come from the patterns in ARGV, made by worker/store/keys.py
-- (a single Redis is assumed, not Redis Cluster).
--
-- Returns false when the order is not booked, else
-- {order, account body or '', activations (flat), settled (flat), sibling order bodies}.
--
-- requires: order_record
-- requires: growing_buckets
-- requires: subscription_orders
local order_key, activations, settled, level_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local order_id = ARGV[1]
local account_pattern, subscription_orders_pattern, order_pattern = ARGV[2], ARGV[3], ARGV[4]
local subscription_order_ids_pattern, bucket_pattern, base = ARGV[5], ARGV[6], tonumber(ARGV[7])

local order = redis.call('GET', order_key)
if not order then return false end
local account_id, subscription_id = order_header(order)
local account = redis.call('HGET', string.format(account_pattern, account_id), 'body') or ''
local siblings = {}
local ids = subscription_order_ids(
  string.format(subscription_orders_pattern, subscription_id),
  string.format(subscription_order_ids_pattern, subscription_id),
  subscription_id,
  bucket_pattern,
  level_key,
  base
)
for _, id in ipairs(ids) do
  if id ~= order_id then
    local body = redis.call('GET', string.format(order_pattern, id))
    if body then siblings[#siblings + 1] = body end
  end
end
return {order, account, redis.call('HGETALL', activations), redis.call('HGETALL', settled), siblings}
