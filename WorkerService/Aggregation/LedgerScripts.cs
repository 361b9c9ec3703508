namespace LlmCostTracker.WorkerService.Aggregation;

/// <summary>The Lua scripts of the ledger. Applying usage claims each event id (SADD) and applies its increments in
/// the same atomic step, so a redelivered or re-posted event counts once.</summary>
internal static class LedgerScripts
{
    /// <summary>Applies a chunk of one month's usage, every user's and the month's, in one atomic step.
    /// KEYS: month totals, month users (report index), month events (claims), then per user: user-month hash,
    /// budget (each user once per chunk). ARGV: expireAt, defaultBudgetMicros, thresholdCount, thresholds...,
    /// userCount, then per user: userId, bucketCount, eventCount, then per bucket (the user's events of one model
    /// and day, summed by the caller): model field, day field, costMicros, input, cached, output, requests, then per event in
    /// order: member (<c>userId|eventId</c>) and its values packed as <c>cost,input,cached,output,bucket</c>.
    /// The packed values are read only for a user with a duplicate in the chunk (the sums then leave it out) or
    /// with a threshold to cross (crossed event by event, in order): otherwise an event costs its claim only.
    /// Every read comes before every write, so a key of the wrong type fails the call before it changes anything.
    /// The claims of the whole chunk are checked with one SMISMEMBER and taken with one SADD (4,000 a command); a
    /// user costs two commands (HMGET and HSET of the user-month hash with every field it touches: totals, one
    /// packed field a model, days, alert states) and a share of one MGET of the budgets; the month's totals and report index are read and written in
    /// bulk, and the month's keys get their expiry in the call that creates them.
    /// Thresholds are claimed in the same step they are crossed. Sums are exact up to 2^53 (about 9 billion USD in
    /// micro-USD).
    /// Returns { alertCount, alerts..., duplicateIndexes... } where each alert is userIndex,
    /// threshold, eventIndex (1-based in the chunk, 0 for an alert left pending by an earlier attempt),
    /// spentMicros, budgetMicros, and the duplicate indexes (1-based) name the events already counted.</summary>
    public const string ApplyUsage = """
        local expireAt = ARGV[1]
        local defaultBudget = ARGV[2]
        local thresholdCount = tonumber(ARGV[3])
        local p = 4 + thresholdCount
        local userCount = tonumber(ARGV[p])
        p = p + 1
        local users, members, at = {}, {}, {}
        local n = 0
        for u = 1, userCount do
          local bucketCount, count = tonumber(ARGV[p + 1]), tonumber(ARGV[p + 2])
          users[u] = { id = ARGV[p], buckets = p + 3, bucketCount = bucketCount, first = n + 1, last = n + count }
          p = p + 3 + bucketCount * 7
          for e = 1, count do
            n = n + 1
            members[n] = ARGV[p]
            at[n] = p + 1
            p = p + 2
          end
        end
        local known = {}
        for from = 1, n, 4000 do
          local part = redis.call('SMISMEMBER', KEYS[3], unpack(members, from, math.min(n, from + 3999)))
          for k = 1, #part do
            known[from + k - 1] = part[k] == 1
          end
        end
        local fresh, seen, isFresh, duplicateAt = {}, {}, {}, {}
        for j = 1, n do
          local member = members[j]
          if known[j] or seen[member] then
            duplicateAt[#duplicateAt + 1] = j
          else
            seen[member] = true
            isFresh[j] = true
            fresh[#fresh + 1] = member
          end
        end
        -- Writes are queued and run at the end; the claims go first.
        local writes = {}
        for from = 1, #fresh, 4000 do
          writes[#writes + 1] = { 'SADD', KEYS[3], unpack(fresh, from, math.min(#fresh, from + 3999)) }
        end
        -- Reads fields, 1,000 a command (Lua unpacks at most 8,000 values).
        local function read(key, fields)
          local values = {}
          for from = 1, #fields, 1000 do
            local part = redis.call('HMGET', key, unpack(fields, from, math.min(#fields, from + 999)))
            for k = 1, #part do
              values[from + k - 1] = part[k]
            end
          end
          return values
        end
        -- Queues an HSET of fields to values, 1,000 fields a command.
        local function set(key, fields, values)
          for from = 1, #fields, 1000 do
            local change = { 'HSET', key }
            for k = from, math.min(#fields, from + 999) do
              change[#change + 1] = fields[k]
              change[#change + 1] = values[k]
            end
            writes[#writes + 1] = change
          end
        end
        local counters = { 'cost', 'input', 'cached', 'output', 'requests' }
        local alerts = {}
        local function alert(...)
          for _, v in ipairs({ ... }) do
            alerts[#alerts + 1] = v
          end
        end
        local monthTotals = { 0, 0, 0, 0, 0 }
        local ranked, rankedDelta = {}, {}
        -- Every user's budget override in one MGET, 1,000 a command.
        local budgetKeys, budgets = {}, {}
        for u = 1, userCount do
          budgetKeys[u] = KEYS[5 + (u - 1) * 2]
        end
        for from = 1, userCount, 1000 do
          local part = redis.call('MGET', unpack(budgetKeys, from, math.min(userCount, from + 999)))
          for k = 1, #part do
            budgets[from + k - 1] = part[k]
          end
        end
        local baseFields = { unpack(counters) }
        for t = 1, thresholdCount do
          baseFields[#baseFields + 1] = 'alert|' .. ARGV[3 + t]
        end
        for u = 1, userCount do
          local user = users[u]
          local key = KEYS[4 + (u - 1) * 2]
          local budget = tonumber(budgets[u] or defaultBudget)
          -- The fields this user's new events touch: totals, alert states, then models and days in first-seen order.
          -- A model's delta is a table of its five counters (the field holds them packed), any other's a number.
          local fields = { unpack(baseFields) }
          local deltas, slot = {}, {}
          local nf = #fields
          for f = 1, nf do
            deltas[f] = 0
          end
          local first, last, q0, bucketCount = user.first, user.last, user.buckets, user.bucketCount
          -- With a duplicate among the user's events, the fresh ones are read one by one (their values packed as
          -- cost,input,cached,output,bucket); otherwise the buckets' sums are used as they are.
          local duplicates, parsed, live = 0, nil, nil
          for j = first, last do
            if not isFresh[j] then
              duplicates = duplicates + 1
            end
          end
          if duplicates > 0 then
            parsed, live = {}, {}
            for j = first, last do
              if isFresh[j] then
                local c, i, cached, o, b = string.match(ARGV[at[j]], '^(-?%d+),(-?%d+),(-?%d+),(-?%d+),(%d+)$')
                b = tonumber(b)
                parsed[#parsed + 1] = { tonumber(c), tonumber(i), tonumber(cached), tonumber(o), b }
                live[b] = true
              end
            end
          end
          -- A bucket's fields (its model's, packed, and its day's), for the buckets with a fresh event only.
          local modelOf, dayOf = {}, {}
          for b = 1, bucketCount do
            if duplicates == 0 or live[b] then
              local q = q0 + (b - 1) * 7
              local name = ARGV[q]
              local f = slot[name]
              if f == nil then
                nf = nf + 1
                f = nf
                fields[f], slot[name], deltas[f] = name, f, { 0, 0, 0, 0, 0 }
              end
              modelOf[b] = deltas[f]
              name = ARGV[q + 1]
              f = slot[name]
              if f == nil then
                nf = nf + 1
                f = nf
                fields[f], slot[name], deltas[f] = name, f, 0
              end
              dayOf[b] = f
            end
          end
          local function add(b, c, i, cached, o, r)
            local model = modelOf[b]
            deltas[1], deltas[2], deltas[3], deltas[4], deltas[5] = deltas[1] + c, deltas[2] + i, deltas[3] + cached, deltas[4] + o, deltas[5] + r
            model[1], model[2], model[3], model[4], model[5] = model[1] + c, model[2] + i, model[3] + cached, model[4] + o, model[5] + r
            local d = dayOf[b]
            deltas[d] = deltas[d] + c
          end
          if duplicates == 0 then
            for b = 1, bucketCount do
              local q = q0 + (b - 1) * 7
              add(b, tonumber(ARGV[q + 2]), tonumber(ARGV[q + 3]), tonumber(ARGV[q + 4]), tonumber(ARGV[q + 5]), tonumber(ARGV[q + 6]))
            end
          else
            for _, e in ipairs(parsed) do
              add(e[5], e[1], e[2], e[3], e[4], 1)
            end
          end
          local current = read(key, fields)
          local spent = tonumber(current[1] or '0')
          local fired, firedNow = {}, {}
          for t = 1, thresholdCount do
            fired[t] = current[5 + t] ~= false
          end
          if deltas[5] > 0 then
            -- Thresholds cross event by event, in order: walked only when the chunk crosses one.
            local crossing = false
            for t = 1, thresholdCount do
              if budget > 0 and not fired[t] and (spent + deltas[1]) * 100 >= budget * tonumber(ARGV[3 + t]) then
                crossing = true
              end
            end
            if crossing then
              for j = user.first, user.last do
                if isFresh[j] then
                  spent = spent + tonumber(string.match(ARGV[at[j]], '^-?%d+'))
                  for t = 1, thresholdCount do
                    local threshold = tonumber(ARGV[3 + t])
                    if not fired[t] and spent * 100 >= budget * threshold then
                      fired[t] = true
                      firedNow[t] = true
                      local eventId = string.sub(members[j], #user.id + 2)
                      writes[#writes + 1] = { 'HSET', key, 'alert|' .. ARGV[3 + t], 'pending|' .. eventId .. '|' .. string.format('%d', spent) }
                      alert(u, threshold, j, spent, budget)
                    end
                  end
                end
              end
            end
            local changed, values = {}, {}
            for f = 1, #fields do
              local delta = deltas[f]
              if type(delta) == 'table' then
                local c, i, cached, o, r = 0, 0, 0, 0, 0
                if current[f] then
                  c, i, cached, o, r = string.match(current[f], '^(-?%d+),(-?%d+),(-?%d+),(-?%d+),(-?%d+)$')
                end
                changed[#changed + 1] = fields[f]
                values[#values + 1] = string.format('%d,%d,%d,%d,%d', tonumber(c) + delta[1], tonumber(i) + delta[2],
                  tonumber(cached) + delta[3], tonumber(o) + delta[4], tonumber(r) + delta[5])
              elseif f <= 5 or f > 5 + thresholdCount then
                changed[#changed + 1] = fields[f]
                values[#values + 1] = string.format('%d', tonumber(current[f] or '0') + delta)
              end
            end
            set(key, changed, values)
            if not current[5] then
              -- This call creates the user's month: the hash gets its expiry once, not on every call.
              writes[#writes + 1] = { 'EXPIREAT', key, expireAt }
            end
            for k = 1, 5 do
              monthTotals[k] = monthTotals[k] + deltas[k]
            end
            ranked[#ranked + 1] = user.id
            rankedDelta[#ranked] = deltas[1]
          end
          -- A redelivery (duplicates seen) also hands back alerts an earlier attempt claimed but did not publish.
          if duplicates > 0 then
            for t = 1, thresholdCount do
              local state = current[5 + t]
              if state and not firedNow[t] and string.sub(state, 1, 8) == 'pending|' then
                local spentAt = string.match(state, '|(%d+)$')
                alert(u, tonumber(ARGV[3 + t]), 0, tonumber(spentAt), budget)
              end
            end
          end
        end
        if #fresh > 0 then
          local month = redis.call('HMGET', KEYS[1], unpack(counters))
          local values = {}
          for k = 1, 5 do
            values[k] = string.format('%d', tonumber(month[k] or '0') + monthTotals[k])
          end
          set(KEYS[1], counters, values)
          for from = 1, #ranked, 2000 do
            local to = math.min(#ranked, from + 1999)
            local scores = redis.call('ZMSCORE', KEYS[2], unpack(ranked, from, to))
            local change = { 'ZADD', KEYS[2] }
            for r = from, to do
              change[#change + 1] = string.format('%d', tonumber(scores[r - from + 1] or '0') + rankedDelta[r])
              change[#change + 1] = ranked[r]
            end
            writes[#writes + 1] = change
          end
          if not month[5] then
            -- The month's first events: its three keys are created by this call (after the writes above) and get
            -- their expiry once.
            for key = 1, 3 do
              writes[#writes + 1] = { 'EXPIREAT', KEYS[key], expireAt }
            end
          end
        end
        for _, w in ipairs(writes) do
          redis.call(unpack(w))
        end
        local result = { #alerts / 5 }
        for _, v in ipairs(alerts) do
          result[#result + 1] = v
        end
        for _, v in ipairs(duplicateAt) do
          result[#result + 1] = v
        end
        return result
        """;

    /// <summary>Re-evaluates one user's month after a budget change. KEYS: user-month hash, budget. ARGV: expireAt,
    /// defaultBudgetMicros, thresholds... Thresholds now above the spend are re-armed; thresholds now crossed and
    /// not yet fired are claimed (pending) and returned. Returns { budgetMicros, spentMicros, thresholds... }.</summary>
    public const string ReevaluateBudget = """
        local budget = tonumber(redis.call('GET', KEYS[2]) or ARGV[2])
        local spent = tonumber(redis.call('HGET', KEYS[1], 'cost') or '0')
        local result = { budget, spent }
        for t = 3, #ARGV do
          local threshold = tonumber(ARGV[t])
          local field = 'alert|' .. ARGV[t]
          local state = redis.call('HGET', KEYS[1], field)
          if budget > 0 and spent * 100 >= budget * threshold then
            if not state then
              redis.call('HSET', KEYS[1], field, 'pending|budget-change|' .. string.format('%d', spent))
              redis.call('EXPIREAT', KEYS[1], ARGV[1])
              table.insert(result, threshold)
            end
          elseif state then
            redis.call('HDEL', KEYS[1], field)
          end
        end
        return result
        """;

    /// <summary>Marks an alert published. KEYS: user-month hash. ARGV: alert field.</summary>
    public const string MarkAlertSent = """
        local v = redis.call('HGET', KEYS[1], ARGV[1])
        if v then
          local sent = string.gsub(v, '^pending', 'sent', 1)
          redis.call('HSET', KEYS[1], ARGV[1], sent)
        end
        return 1
        """;
}
