-- Hashes whose buckets grow with what they hold (worker/store/growing_buckets.py): level L has
-- BASE * 2^L buckets, an entry's bucket at a level is its number modulo that, and entries are
-- written at the current level, which goes up once a bucket holds FULL fields (Redis keeps a hash
-- of up to 128 fields compact). An entry stays where it was written, so it is looked for at
-- every level up to the current one. A few dozen buckets hold a few thousand entries; thousands
-- of near-empty keys (~100 B each) would not. Spliced into the scripts that name it in a
-- "-- requires: growing_buckets" line (worker/store/connection.py).

-- The bucket of `number` at `level`: `pattern` has one %s for "<level>:<bucket>".
local function growing_bucket(pattern, level, number, base)
  return string.format(pattern, string.format('%d:%d', level, number % (base * 2 ^ level)))
end

-- The level entries are written at now (a string key; absent: 0).
local function growing_level(level_key)
  return tonumber(redis.call('GET', level_key) or '0')
end

-- The bucket, at a level up to the current one, whose `field` is set, and its value; or nil.
local function growing_find(pattern, level_key, number, base, field)
  for level = 0, growing_level(level_key) do
    local bucket = growing_bucket(pattern, level, number, base)
    local value = redis.call('HGET', bucket, field)
    if value then return bucket, value end
  end
  return nil, nil
end

-- Set `field` in its bucket of the current level; the level goes up (up to `top`) once that
-- bucket holds `full` fields. Returns the bucket.
local function growing_put(pattern, level_key, number, base, full, top, field, value)
  local level = growing_level(level_key)
  local bucket = growing_bucket(pattern, level, number, base)
  redis.call('HSET', bucket, field, value)
  if level < top and redis.call('HLEN', bucket) >= full then redis.call('SET', level_key, level + 1) end
  return bucket
end

-- The number an id is bucketed by: the first 32 bits of its SHA-1 (growing_buckets.py
-- `id_number`).
local function growing_number(id)
  return tonumber(string.sub(redis.sha1hex(id), 1, 8), 16)
end
