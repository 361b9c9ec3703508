-- Folds the oldest tag deltas of a bucket (appended by apply-usage.lua, one per ledger call) into its tag values'
-- hashes, users and dimension indexes, and removes them from the list, in one atomic step: each delta is folded
-- exactly once. TagFolder.cs read the deltas, merged them and builds the call; this comment names the arguments only.
--
-- KEYS (FoldKey, in FoldTagsCall.cs, prepended as a table): the bucket's tag delta list, its rejected list, then from
-- FirstPayloadKey the keys the payload names by position (1-based): per tag value its hash and users, per dimension
-- and month its index.
-- ARGV (FoldArg): the count of deltas folded, the ids of the first and the last of them, the payload (JSON), then the
-- 0-based positions of the deltas the folder could not read, comma-separated (moved to the rejected list as they are).
-- The payload:
-- { n = counter field names (cost first), r = position of the requests counter, t = tags }, each tag
-- { k = hash, uk = users, ik = index (KEYS positions), v = value, x = expireAt (Unix s), c = counters,
--   f = { { field, packed counters (a model) or a number (a day) } ... }, u = { { userId, cost } ... } }.
-- Returns 1 when folded, 0 when the list no longer starts with those deltas (another worker folded them first:
-- nothing is written and the caller reads the list again).

local list = KEYS[FoldKey.List]
local count = tonumber(ARGV[FoldArg.Count])
if redis.call('LLEN', list) < count then
  return 0
end
-- Each delta starts with {"id":"<32 hex digits>".
local function idOf(delta)
  return string.sub(delta, 8, 39)
end
if idOf(redis.call('LINDEX', list, 0)) ~= ARGV[FoldArg.FirstId] or idOf(redis.call('LINDEX', list, count - 1)) ~= ARGV[FoldArg.LastId] then
  return 0
end

local payload = cjson.decode(ARGV[FoldArg.Payload])
local counters = payload.n
local counterCount = #counters
local requestsAt = payload.r
local mismatch = packedCountersError('fold-tags', counterCount)
if mismatch then
  return mismatch
end

-- All reads before all writes, as in apply-usage.lua: a bad key fails the call before it changed anything.
local slice = 2000
local writes = {}
local indexes, indexOrder = {}, {}
for _, tag in ipairs(payload.t) do
  local key, usersKey = KEYS[tag.k], KEYS[tag.uk]
  local names = {}
  for k = 1, counterCount do
    names[k] = counters[k]
  end
  for f = 1, #tag.f do
    names[counterCount + f] = tag.f[f][1]
  end
  local current = redis.call('HMGET', key, unpack(names))
  local change = { 'HSET', key }
  for k = 1, counterCount do
    change[#change + 1] = counters[k]
    change[#change + 1] = string.format('%d', tonumber(current[k] or '0') + tag.c[k])
  end
  for f = 1, #tag.f do
    local delta = tag.f[f][2]
    change[#change + 1] = names[counterCount + f]
    if type(delta) == 'table' then
      change[#change + 1] = addToField(current[counterCount + f], delta)
    else
      change[#change + 1] = string.format('%d', tonumber(current[counterCount + f] or '0') + delta)
    end
  end
  writes[#writes + 1] = change
  for from = 1, #tag.u, slice do
    local to = math.min(#tag.u, from + slice - 1)
    local members = {}
    for r = from, to do
      members[#members + 1] = tag.u[r][1]
    end
    local scores = redis.call('ZMSCORE', usersKey, unpack(members))
    local add = { 'ZADD', usersKey }
    for r = from, to do
      add[#add + 1] = string.format('%d', tonumber(scores[r - from + 1] or '0') + tag.u[r][2])
      add[#add + 1] = tag.u[r][1]
    end
    writes[#writes + 1] = add
  end
  local created = not current[requestsAt]
  if created then
    -- The value's first usage of the month in this bucket: its keys are created here.
    writes[#writes + 1] = { 'EXPIREAT', key, tag.x }
    writes[#writes + 1] = { 'EXPIREAT', usersKey, tag.x }
  end
  local index = indexes[tag.ik]
  if not index then
    index = { members = {}, costs = {}, expireAt = tag.x }
    indexes[tag.ik] = index
    indexOrder[#indexOrder + 1] = tag.ik
  end
  index.members[#index.members + 1] = tag.v
  index.costs[#index.costs + 1] = tag.c[1]
  index.created = index.created or created
end
for _, position in ipairs(indexOrder) do
  local index, key = indexes[position], KEYS[position]
  for from = 1, #index.members, slice do
    local to = math.min(#index.members, from + slice - 1)
    local scores = redis.call('ZMSCORE', key, unpack(index.members, from, to))
    local add = { 'ZADD', key }
    for r = from, to do
      add[#add + 1] = string.format('%d', tonumber(scores[r - from + 1] or '0') + index.costs[r])
      add[#add + 1] = index.members[r]
    end
    writes[#writes + 1] = add
  end
  if index.created then
    -- A value new to this bucket's month may be the dimension's first: the index gets its expiry after its ZADD.
    writes[#writes + 1] = { 'EXPIREAT', key, index.expireAt }
  end
end

for _, w in ipairs(writes) do
  redis.call(unpack(w))
end
for position in string.gmatch(ARGV[FoldArg.Rejected], '%d+') do
  redis.call('RPUSH', KEYS[FoldKey.Rejected], redis.call('LINDEX', list, tonumber(position)))
end
redis.call('LTRIM', list, count, -1)
return 1
