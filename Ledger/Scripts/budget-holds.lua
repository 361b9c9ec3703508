-- A user's budget holds: grant one against the month's budget, release one, or read what is held, each in one
-- atomic step in the user's ledger bucket. BudgetHoldCall.cs builds the arguments and reads the reply.
--
-- KEYS: the user's holds (sorted set: holdId → expiresAt, Unix ms), the user's hold data (hash: holdId →
-- amount|expiresAt|state, state active, settled or released; and '#held', the sum of the active amounts), then for
-- a grant: the user's month hash, budget and enforce keys.
-- ARGV: action (hold, release, peek), now (Unix ms), the held field's name, then
--   hold: holdId, amount (micro-USD), expiresAt, default budget (micro-USD), default enforce (0|1), cost field;
--   release: holdId.
-- Returns:
--   hold: { outcome (granted, existing, refused), amount, expiresAt, state, spent, held (after), budget, enforce };
--   release: { outcome (released, settled, unknown), amount };
--   peek: { held }.
--
-- Expiry needs no sweeper: every call first frees the holds that expired (their amounts leave '#held' and their
-- entries go), so whatever reads the holds sees only live ones. A settled or released hold stays, as a
-- tombstone, until its own expiry: a repeated grant with its id answers it instead of granting again. The worker
-- settles a hold (active → settled, its amount leaves '#held') in the same step as it counts the event carrying
-- it (apply-usage.lua).

local holds, data = KEYS[1], KEYS[2]
local action, now = ARGV[1], tonumber(ARGV[2])
local held = ARGV[3]

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
  local holdId, amount, expiresAt = ARGV[4], tonumber(ARGV[5]), ARGV[6]
  -- Reads first: a key of the wrong type fails the call before it changes anything.
  local spent = tonumber(redis.call('HGET', KEYS[3], ARGV[9]) or '0')
  local budget = tonumber(redis.call('GET', KEYS[4]) or ARGV[7])
  local enforce = redis.call('GET', KEYS[5]) or ARGV[8]
  prune()
  local heldBefore = heldNow()
  local existing = redis.call('HGET', data, holdId)
  if existing then
    local a, e, state = string.match(existing, holdEntryPattern)
    return { 'existing', tonumber(a), tonumber(e), state, spent, heldBefore, budget, enforce }
  end
  if enforce == '1' and spent + heldBefore + amount > budget then
    return { 'refused', amount, 0, '', spent, heldBefore, budget, enforce }
  end
  redis.call('HSET', data, holdId, holdEntry(amount, expiresAt, 'active'))
  redis.call('HINCRBY', data, held, amount)
  redis.call('ZADD', holds, expiresAt, holdId)
  -- Both keys live until the last hold expires.
  local last = redis.call('ZRANGE', holds, -1, -1, 'WITHSCORES')
  redis.call('PEXPIREAT', holds, last[2])
  redis.call('PEXPIREAT', data, last[2])
  return { 'granted', amount, tonumber(expiresAt), 'active', spent, heldBefore + amount, budget, enforce }
end

if action == 'release' then
  prune()
  local holdId = ARGV[4]
  local existing = redis.call('HGET', data, holdId)
  if not existing then
    return { 'unknown', 0 }
  end
  local a, e, state = string.match(existing, holdEntryPattern)
  if state ~= 'active' then
    return { state, tonumber(a) }
  end
  redis.call('HSET', data, holdId, holdEntry(a, e, 'released'))
  redis.call('HINCRBY', data, held, -tonumber(a))
  return { 'released', tonumber(a) }
end

if action == 'peek' then
  prune()
  return { heldNow() }
end

return redis.error_reply('budget-holds: unknown action ' .. tostring(action))
