namespace LlmCostTracker.WorkerService.Aggregation;

/// <summary>The two Lua scripts that apply usage, one per Redis Cluster slot. Each claims an event id (SADD)
/// and applies its increments in the same atomic step, so a redelivered or re-posted event counts once and a
/// retry completes whatever slot a failure left undone.</summary>
internal static class LedgerScripts
{
    /// <summary>One user's month. KEYS: totals, models, daily, events, alerts, budget.
    /// ARGV: expireAt, defaultBudgetMicros, thresholdCount, thresholds..., then per event
    /// eventId, model, costMicros, input, cached, output, day.
    /// Returns { applied, duplicates, budgetMicros, alerts... } where each alert is threshold, eventIndex (1-based,
    /// 0 for an alert left pending by an earlier attempt), spentMicros.</summary>
    public const string ApplyUserUsage = """
        local expireAt = tonumber(ARGV[1])
        local budget = tonumber(redis.call('GET', KEYS[6]) or ARGV[2])
        local thresholdCount = tonumber(ARGV[3])
        local first = 4 + thresholdCount
        local spent = tonumber(redis.call('HGET', KEYS[1], 'cost') or '0')
        local applied, duplicates = 0, 0
        local result = {}
        local fired, firedNow = {}, {}
        for t = 4, first - 1 do
          fired[ARGV[t]] = redis.call('HEXISTS', KEYS[5], ARGV[t]) == 1
        end
        for i = first, #ARGV, 7 do
          local eventId, model, cost = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
          if redis.call('SADD', KEYS[4], eventId) == 1 then
            local input, cached, output, day = ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 6]
            redis.call('HINCRBY', KEYS[1], 'cost', cost)
            redis.call('HINCRBY', KEYS[1], 'input', input)
            redis.call('HINCRBY', KEYS[1], 'cached', cached)
            redis.call('HINCRBY', KEYS[1], 'output', output)
            local isNew = redis.call('HINCRBY', KEYS[1], 'requests', 1) == 1
            redis.call('HINCRBY', KEYS[2], 'cost|' .. model, cost)
            redis.call('HINCRBY', KEYS[2], 'input|' .. model, input)
            redis.call('HINCRBY', KEYS[2], 'cached|' .. model, cached)
            redis.call('HINCRBY', KEYS[2], 'output|' .. model, output)
            redis.call('HINCRBY', KEYS[2], 'requests|' .. model, 1)
            redis.call('HINCRBY', KEYS[3], day, cost)
            if isNew then
              -- The user's first event of the month created these keys: they get their expiry once, not per call.
              for k = 1, 4 do
                redis.call('EXPIREAT', KEYS[k], expireAt)
              end
            end
            applied = applied + 1
            spent = spent + cost
            if budget > 0 then
              for t = 4, first - 1 do
                local threshold = tonumber(ARGV[t])
                if not fired[ARGV[t]] and spent * 100 >= budget * threshold then
                  fired[ARGV[t]] = true
                  firedNow[threshold] = true
                  redis.call('HSET', KEYS[5], threshold, 'pending|' .. eventId .. '|' .. spent)
                  redis.call('EXPIREAT', KEYS[5], expireAt)
                  table.insert(result, threshold)
                  table.insert(result, (i - first) / 7 + 1)
                  table.insert(result, spent)
                end
              end
            end
          else
            duplicates = duplicates + 1
          end
        end
        -- A redelivery (duplicates seen) also hands back alerts an earlier attempt claimed but did not publish.
        if duplicates > 0 then
          local alerts = redis.call('HGETALL', KEYS[5])
          for j = 1, #alerts, 2 do
            local state, rest = string.match(alerts[j + 1], '^(%a+)|(.*)$')
            if state == 'pending' and not firedNow[tonumber(alerts[j])] then
              local spentAt = string.match(rest, '|(%d+)$')
              table.insert(result, tonumber(alerts[j]))
              table.insert(result, 0)
              table.insert(result, tonumber(spentAt))
            end
          end
        end
        table.insert(result, 1, budget)
        table.insert(result, 1, duplicates)
        table.insert(result, 1, applied)
        return result
        """;

    /// <summary>The month-wide keys. KEYS: totals, users, events. ARGV: expireAt, then per event
    /// member (userId|eventId), userId, costMicros, input, cached, output. Returns the count applied.
    /// The claims are checked and taken in bulk (SMISMEMBER, SADD) and the increments summed in Lua, so a message
    /// costs a handful of commands plus one ZINCRBY per user instead of seven commands per event.</summary>
    public const string ApplyMonthUsage = """
        local n = (#ARGV - 1) / 6
        local members = {}
        for j = 1, n do
          members[j] = ARGV[2 + (j - 1) * 6]
        end
        local known = {}
        for from = 1, n, 4000 do
          local to = math.min(n, from + 3999)
          local part = redis.call('SMISMEMBER', KEYS[3], unpack(members, from, to))
          for k = 1, #part do
            known[from + k - 1] = part[k] == 1
          end
          redis.call('SADD', KEYS[3], unpack(members, from, to))
        end
        local cost, input, cached, output, applied = 0, 0, 0, 0, 0
        local users, order, inMessage = {}, {}, {}
        for j = 1, n do
          local member = members[j]
          if not known[j] and not inMessage[member] then
            inMessage[member] = true
            local i = 2 + (j - 1) * 6
            local userId, eventCost = ARGV[i + 1], tonumber(ARGV[i + 2])
            cost = cost + eventCost
            input = input + tonumber(ARGV[i + 3])
            cached = cached + tonumber(ARGV[i + 4])
            output = output + tonumber(ARGV[i + 5])
            applied = applied + 1
            if users[userId] == nil then
              users[userId] = 0
              table.insert(order, userId)
            end
            users[userId] = users[userId] + eventCost
          end
        end
        if applied > 0 then
          redis.call('HINCRBY', KEYS[1], 'cost', cost)
          redis.call('HINCRBY', KEYS[1], 'input', input)
          redis.call('HINCRBY', KEYS[1], 'cached', cached)
          redis.call('HINCRBY', KEYS[1], 'output', output)
          redis.call('HINCRBY', KEYS[1], 'requests', applied)
          for _, userId in ipairs(order) do
            redis.call('ZINCRBY', KEYS[2], users[userId], userId)
          end
        end
        for k = 1, 3 do
          redis.call('EXPIREAT', KEYS[k], ARGV[1])
        end
        return applied
        """;

    /// <summary>Re-evaluates one user's month after a budget change. KEYS: totals, alerts, budget. ARGV: expireAt,
    /// defaultBudgetMicros, thresholds... Thresholds now above the spend are re-armed; thresholds now crossed and
    /// not yet fired are claimed (pending) and returned. Returns { budgetMicros, spentMicros, thresholds... }.</summary>
    public const string ReevaluateBudget = """
        local budget = tonumber(redis.call('GET', KEYS[3]) or ARGV[2])
        local spent = tonumber(redis.call('HGET', KEYS[1], 'cost') or '0')
        local result = { budget, spent }
        for t = 3, #ARGV do
          local threshold = tonumber(ARGV[t])
          local state = redis.call('HGET', KEYS[2], ARGV[t])
          if budget > 0 and spent * 100 >= budget * threshold then
            if not state then
              redis.call('HSET', KEYS[2], ARGV[t], 'pending|budget-change|' .. spent)
              redis.call('EXPIREAT', KEYS[2], ARGV[1])
              table.insert(result, threshold)
            end
          elseif state then
            redis.call('HDEL', KEYS[2], ARGV[t])
          end
        end
        return result
        """;
}
