-- Everything invoicing a subscription's later periods reads, in one round trip: its orders (by
-- order id) with their activations, the first order's account snapshot, the periods billed.
--
-- KEYS[1]: the subscription's order set (Keys.subscription_orders)
-- KEYS[2]: the subscription's billed periods hash (Keys.subscription_periods)
-- KEYS[3]: the subscription's order hash (Keys.subscription_order_ids)
-- KEYS[4]: the level of the subscriptions' order buckets (Keys.subscription_order_level)
-- ARGV[1]: the pattern of an order's name (pattern_of(Keys.order): one %s)
-- ARGV[2]: the pattern of an order's activations hash (pattern_of(Keys.activations))
-- ARGV[3]: the pattern of an account hash's name (pattern_of(Keys.account))
-- ARGV[4]: the subscription id
-- ARGV[5]: the subscriptions' order buckets (pattern_of(Keys.subscription_order_bucket))
-- ARGV[6]: the buckets at their first level (growing_buckets.BASE)
--
-- Not in KEYS: the subscription's order bucket (which depends on the level read here), the
-- orders, their activations and the account. Their ids are only known from the subscription's
-- ids and the first order's body, read here; reading them first would cost a second round
-- trip. Their names come from the patterns in ARGV, made by worker/store/keys.py (a single
-- Redis is assumed, not Redis Cluster).
--
-- Returns {order bodies, their activations (flat, in the same order), account body or '',
-- billed periods (flat)}.
--
-- requires: order_record
-- requires: growing_buckets
-- requires: subscription_orders
local subscription_orders, periods, subscription_order_hash, level_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local order_pattern, activations_pattern, account_pattern = ARGV[1], ARGV[2], ARGV[3]

local ids = subscription_order_ids(
  subscription_orders, subscription_order_hash, ARGV[4], ARGV[5], level_key, tonumber(ARGV[6])
)
local orders, activations = {}, {}
for _, id in ipairs(ids) do
  local body = redis.call('GET', string.format(order_pattern, id))
  if body then
    orders[#orders + 1] = body
    activations[#activations + 1] = redis.call('HGETALL', string.format(activations_pattern, id))
  end
end
local account = ''
if #orders > 0 then
  local account_id = order_header(orders[1])
  account = redis.call('HGET', string.format(account_pattern, account_id), 'body') or ''
end
return {orders, activations, account, redis.call('HGETALL', periods)}
