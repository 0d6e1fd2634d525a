-- Reading a stored order (worker/store/order_records.py): a record, "o1" and netstrings
-- (account id, subscription id, booking event id, line count, line ids) before the deflated
-- body, or JSON written before records existed. Spliced into the scripts that name it in a
-- "-- requires: order_record" line (worker/store/connection.py).

local function order_record_field(body, pos)
  local colon = string.find(body, ':', pos, true)
  local length = tonumber(string.sub(body, pos, colon - 1))
  return string.sub(body, colon + 1, colon + length), colon + length + 1
end

-- The order's account id, subscription id and line ids (a list).
local function order_header(body)
  if string.sub(body, 1, 1) == '{' then
    local decoded = cjson.decode(body)
    local lines = {}
    for _, line in ipairs(decoded['lines']) do lines[#lines + 1] = line['line_id'] end
    return decoded['account_id'], decoded['subscription_id'], lines
  end
  local account, subscription, count, pos, _
  account, pos = order_record_field(body, 3)
  subscription, pos = order_record_field(body, pos)
  _, pos = order_record_field(body, pos) -- the booking event's id
  count, pos = order_record_field(body, pos)
  local lines = {}
  for i = 1, tonumber(count) do lines[i], pos = order_record_field(body, pos) end
  return account, subscription, lines
end
