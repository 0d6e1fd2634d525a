-- Reading a stored order (worker/store/order_records.py): a record, "o1" and netstrings
-- (account id, subscription id, booking event id, line count, line ids) before the deflated
-- body; "o2", the same header, the body as a netstring and the order's line state as netstring
-- pairs (field, value: what its activations hash holds); "o3", the same with each value
-- front-coded: "<bytes shared with the value before it>+" and a netstring of the rest (a line's
-- activations and settled invoice differ by a few bytes from the line's before); "o4" and
-- "o5", "o1" and "o3" with the body packed with another dictionary (which Lua never reads);
-- or JSON written before records existed. Spliced into the scripts that name it in their
-- "requires" line (worker/store/connection.py).

local function order_record_field(body, pos)
  local colon = string.find(body, ':', pos, true)
  local length = tonumber(string.sub(body, pos, colon - 1))
  return string.sub(body, colon + 1, colon + length), colon + length + 1
end

-- The order's account id, subscription id, line ids (a list) and, for a record, where its
-- header ends.
local function order_header(body)
  if string.sub(body, 1, 1) == '{' then
    local decoded = cjson.decode(body)
    local lines = {}
    for _, line in ipairs(decoded['lines']) do lines[#lines + 1] = line['line_id'] end
    return decoded['account_id'], decoded['subscription_id'], lines, nil
  end
  local account, subscription, count, pos, _
  account, pos = order_record_field(body, 3)
  subscription, pos = order_record_field(body, pos)
  _, pos = order_record_field(body, pos) -- the booking event's id
  count, pos = order_record_field(body, pos)
  local lines = {}
  for i = 1, tonumber(count) do lines[i], pos = order_record_field(body, pos) end
  return account, subscription, lines, pos
end

-- Whether the order can hold its line state: a record (JSON keeps it in the hash).
local function order_is_record(body)
  local marker = string.sub(body, 1, 2)
  return marker == 'o1' or marker == 'o2' or marker == 'o3' or marker == 'o4' or marker == 'o5'
end

-- A front-coded value of an "o3" or "o5" record at `pos`, the value before it being `previous`.
local function order_record_shared(body, pos, previous)
  local plus = string.find(body, '+', pos, true)
  local shared = tonumber(string.sub(body, pos, plus - 1))
  local rest, next_pos = order_record_field(body, plus + 1)
  return string.sub(previous, 1, shared) .. rest, next_pos
end

-- How many leading bytes `a` and `b` share.
local function bytes_shared(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    if string.byte(a, i) ~= string.byte(b, i) then return i - 1 end
  end
  return n
end

-- A record's parts: its header as written (after the marker), its packed body and its line
-- state, flat: {field, value, ...} ({} for an "o1" record).
local function order_parts(body)
  local _, _, _, pos = order_header(body)
  local header = string.sub(body, 3, pos - 1)
  local marker = string.sub(body, 1, 2)
  if marker == 'o1' or marker == 'o4' then return header, string.sub(body, pos), {} end
  local packed, flat = nil, {}
  packed, pos = order_record_field(body, pos)
  if marker == 'o2' then
    while pos <= #body do
      flat[#flat + 1], pos = order_record_field(body, pos)
    end
    return header, packed, flat
  end
  local previous = ''
  while pos <= #body do
    flat[#flat + 1], pos = order_record_field(body, pos)
    previous, pos = order_record_shared(body, pos, previous)
    flat[#flat + 1] = previous
  end
  return header, packed, flat
end

local function order_line_state(body)
  local _, _, flat = order_parts(body)
  return flat
end

local function line_state_get(flat, field)
  for i = 1, #flat, 2 do
    if flat[i] == field then return flat[i + 1] end
  end
  return nil
end

local function line_state_set(flat, field, value)
  for i = 1, #flat, 2 do
    if flat[i] == field then
      flat[i + 1] = value
      return
    end
  end
  flat[#flat + 1] = field
  flat[#flat + 1] = value
end

-- Write the record at `key` anew ("o3", or "o5" for a body of the second dictionary) with the line state `flat`, and what the order's
-- activations hash `hash` still held (an activation before the booking, a layout of before)
-- taken into it: the hash goes.
local function order_save_line_state(key, body, flat, hash)
  local held = redis.call('HGETALL', hash)
  for i = 1, #held, 2 do
    if line_state_get(flat, held[i]) == nil then line_state_set(flat, held[i], held[i + 1]) end
  end
  local header, packed = order_parts(body)
  local marker = string.sub(body, 1, 2)
  -- the body stays packed with its dictionary, which the marker names
  local front_coded = (marker == 'o4' or marker == 'o5') and 'o5' or 'o3'
  local parts, previous = {front_coded, header, #packed .. ':' .. packed}, ''
  for i = 1, #flat, 2 do
    local value = flat[i + 1]
    local shared = bytes_shared(previous, value)
    parts[#parts + 1] = #flat[i] .. ':' .. flat[i]
    parts[#parts + 1] = shared .. '+' .. (#value - shared) .. ':' .. string.sub(value, shared + 1)
    previous = value
  end
  redis.call('SET', key, table.concat(parts), 'KEEPTTL')
  redis.call('DEL', hash)
end
