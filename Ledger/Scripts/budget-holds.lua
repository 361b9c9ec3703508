-- A user's budget holds: grant one against the month's budget, release one, or read what is held, each in one
-- atomic step in the user's ledger bucket.
--
-- KEYS, ARGV and the replies are read and written by name: the tables HoldKey, HoldArg, HoldReplyAt, ReleaseReplyAt
-- and PeekReplyAt are prepended from the enums of the same names in Ledger/Holds/BudgetHoldCall.cs, the one place
-- their order is written. HoldKey: the user's holds (sorted set: holdId → expiresAt, Unix ms), the user's hold data
-- (hash: holdId → amount|expiresAt|state, state active, settled or released; and '#held', the sum of the active
-- amounts), then for a grant the user's month hash, budget and enforce keys. HoldArg.Action is hold, release or peek.
--
-- Expiry needs no sweeper: every call first frees the holds that expired (their amounts leave '#held' and their
-- entries go), so whatever reads the holds sees only live ones. A settled or released hold stays, as a
-- tombstone, until its own expiry: a repeated grant with its id answers it instead of granting again. The worker
-- settles a hold (active → settled, its amount leaves '#held') in the same step as it counts the event carrying
-- it (apply-usage.lua).

local holds, data = KEYS[HoldKey.Holds], KEYS[HoldKey.Data]
local action, now = ARGV[HoldArg.Action], tonumber(ARGV[HoldArg.Now])
local held = ARGV[HoldArg.HeldField]

-- A reply as a list in the order its table names, from a table of named values (none nil).
local function reply(layout, values)
  local list = {}
  for name, value in pairs(values) do
    list[layout[name]] = value
  end
  return list
end

local function prune()
  while true do
    local expired = redis.call('ZRANGEBYSCORE', holds, '-inf', now, 'LIMIT', 0, unpackSlice)
    if #expired == 0 then
      return
    end
    local entries = redis.call('HMGET', data, unpack(expired))
    local freed = 0
    for k = 1, #expired do
      if entries[k] then
        local amount, _, state = string.match(entries[k], holdEntryPattern)
        if state == 'active' then
          freed = freed + tonumber(amount)
        end
      end
    end
    redis.call('ZREM', holds, unpack(expired))
    redis.call('HDEL', data, unpack(expired))
    if freed > 0 then
      redis.call('HINCRBY', data, held, -freed)
    end
    if #expired < unpackSlice then
      return
    end
  end
end

local function heldNow()
  return tonumber(redis.call('HGET', data, held) or '0')
end

if action == 'hold' then
  local holdId, amount, expiresAt = ARGV[HoldArg.HoldId], tonumber(ARGV[HoldArg.Amount]), ARGV[HoldArg.ExpiresAt]
  -- Reads first: a key of the wrong type fails the call before it changes anything.
  local spent = tonumber(redis.call('HGET', KEYS[HoldKey.Month], ARGV[HoldArg.CostField]) or '0')
  local budget = tonumber(redis.call('GET', KEYS[HoldKey.Budget]) or ARGV[HoldArg.DefaultBudget])
  local enforce = redis.call('GET', KEYS[HoldKey.Enforce]) or ARGV[HoldArg.DefaultEnforce]
  prune()
  local heldBefore = heldNow()
  local existing = redis.call('HGET', data, holdId)
  if existing then
    local a, e, state = string.match(existing, holdEntryPattern)
    return reply(HoldReplyAt, { Outcome = 'existing', Amount = tonumber(a), ExpiresAt = tonumber(e), State = state, Spent = spent,
      Held = heldBefore, Budget = budget, Enforce = enforce })
  end
  if enforce == '1' and spent + heldBefore + amount > budget then
    return reply(HoldReplyAt, { Outcome = 'refused', Amount = amount, ExpiresAt = 0, State = '', Spent = spent, Held = heldBefore,
      Budget = budget, Enforce = enforce })
  end
  redis.call('HSET', data, holdId, holdEntry(amount, expiresAt, 'active'))
  redis.call('HINCRBY', data, held, amount)
  redis.call('ZADD', holds, expiresAt, holdId)
  -- Both keys live until the last hold expires.
  local last = redis.call('ZRANGE', holds, -1, -1, 'WITHSCORES')
  redis.call('PEXPIREAT', holds, last[2])
  redis.call('PEXPIREAT', data, last[2])
  return reply(HoldReplyAt, { Outcome = 'granted', Amount = amount, ExpiresAt = tonumber(expiresAt), State = 'active', Spent = spent,
    Held = heldBefore + amount, Budget = budget, Enforce = enforce })
end

if action == 'release' then
  prune()
  local holdId = ARGV[HoldArg.HoldId]
  local existing = redis.call('HGET', data, holdId)
  if not existing then
    return reply(ReleaseReplyAt, { Outcome = 'unknown', Amount = 0 })
  end
  local a, e, state = string.match(existing, holdEntryPattern)
  if state ~= 'active' then
    return reply(ReleaseReplyAt, { Outcome = state, Amount = tonumber(a) })
  end
  redis.call('HSET', data, holdId, holdEntry(a, e, 'released'))
  redis.call('HINCRBY', data, held, -tonumber(a))
  return reply(ReleaseReplyAt, { Outcome = 'released', Amount = tonumber(a) })
end

if action == 'peek' then
  prune()
  return reply(PeekReplyAt, { Held = heldNow() })
end

return redis.error_reply('budget-holds: unknown action ' .. tostring(action))
