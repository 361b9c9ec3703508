-- Applies one ledger bucket's share of one month's usage, every user's and the bucket's month increments, in one
-- atomic step. ApplyUsageCall.cs builds the arguments and reads the reply; this comment names them only. The script
-- is this file (the arguments) and its sections, joined in this order after prelude.lua (ApplyUsageCall.Script):
-- apply-usage-claims.lua (which events are new), apply-usage-helpers.lua (queued writes, budgets, holds, handed-back
-- alerts), apply-usage-users.lua (each user's month and thresholds), apply-usage-month.lua (the bucket's month, the
-- tag delta, the writes and the reply). They share this file's locals.
--
-- Every key, argument and reply field is named by an enum of ApplyUsageCall (prepended as Lua tables; the script
-- reads ARGV[UsageArg.UserCount], the call writes args[(int)UsageArg.UserCount]).
-- KEYS (UsageKey): month totals, month users (report index), the claim sets of the dedup window from FirstClaimSet
-- (the current period's first), then per user the keys of UserKey: user-month hash, budget, hold data (budget-holds.lua),
-- the user's own alert thresholds (comma-separated percentages; missing: the ARGV thresholds), then, when the call's
-- events carry tags, the bucket's tag delta list, then, with history on, the bucket's rollup stream.
-- ARGV: the header (UsageArg), then in order the counter field names (cost first), the thresholds, and per user a
-- UserArg record; then its groups (the user's events of one model and day, summed by the caller), each a GroupArg
-- record with one value a counter from FirstCounter; then per event an EventArg record: its claim (a digest of
-- userId|eventId; with ClaimForms 2, the current and the older form joined) and its counters, group, time (Unix ms) and id packed as c1,...,cN,group,occurredAt,eventId
-- (with ValuesOmitted, the claim alone); then
-- per event carrying a budget hold a HoldRef record: its position among the user's events (1-based) and the holdId.
-- After every user: the call's tag delta (JSON, empty without tags), then with one, the events' tag set numbers (0:
-- none), comma-separated in call order; then the call's daily rollup delta (JSON, empty with history off).
-- Returns { -1 } for a call sent without its events' values that needs them (see valuesOmitted below), else
-- { alertCount, alerts..., duplicateIndexes... }: each alert an AlertField record: userIndex, threshold,
-- eventIndex (1-based in the call, 0 for an alert left pending by an earlier attempt), spentMicros, budgetMicros,
-- crossedAt (Unix ms: the crossing event's occurredAt, kept in the alert state as pending|eventId|spent|crossedAt; 0
-- when unknown).
--
-- Each event's claim (SADD into the current period's set) is taken in the same step as its increments, and checked
-- against every set of the window, so an event re-posted or redelivered within the window counts once. A group's
-- packed event values are read only for a user with a duplicate in the call (the sums then leave it out) or with a
-- threshold to cross (crossed event by event, in order). Every read comes before every write, so a key of the wrong
-- type fails the call before it changes anything, claims included. Sums are exact up to 2^53 (about 9 billion USD
-- in micro-USD).
--
-- An event that counts and carries a budget hold settles it in the same step: an active hold becomes settled and its
-- amount leaves the held sum as the event's real cost joins the spend, so the reservation is never counted twice nor
-- dropped before its cost is in. A redelivered event counts nothing and settles nothing; a settled, released or
-- expired hold is left as it is (the event's cost still counts once).
--
-- Tagged usage: the worker sums the call's events per tag value (ApplyUsageCall) into one delta, which this step
-- appends to the bucket's tag delta list when the call has a fresh event, with the call's duplicates listed after
-- it (for the fold to take out), so the tags count each event exactly once, like the user rows; TagFolder folds the
-- list into the tag values' hashes and indexes (fold-tags.lua). The script never reads the delta itself.
--
-- Daily rollups (history on): the worker sums the call's events per day, user, model, provider, tier and band into
-- one delta, with each event's rows (RollupDeltaBuilder), which this step adds to the bucket's rollup stream when the
-- call has a fresh event (RollupWriter folds the stream into PostgreSQL), with the call's duplicates beside it
-- (field x: their positions and packed counters) for the writer to take out, as the tag fold does. So a call that
-- mixes new events and duplicates is made once.

local expireAt = ARGV[UsageArg.ExpireAt]
local defaultBudget = ARGV[UsageArg.DefaultBudget]
local claimSets = tonumber(ARGV[UsageArg.ClaimSetCount])
local claimsExpireAt = ARGV[UsageArg.ClaimsExpireAt]
local claimForms = tonumber(ARGV[UsageArg.ClaimForms])
local requestsAt = tonumber(ARGV[UsageArg.RequestsAt])
local alertPrefix = ARGV[UsageArg.AlertPrefix]
local pendingWord = ARGV[UsageArg.PendingWord]
local pending = pendingWord .. '|'
local heldField = ARGV[UsageArg.HeldField]
local counterCount = tonumber(ARGV[UsageArg.CounterCount])
local thresholdCount = tonumber(ARGV[UsageArg.ThresholdCount])
local userCount = tonumber(ARGV[UsageArg.UserCount])
-- A call first comes without each event's packed values (ValuesOmitted 1: an event's record is its claim alone). They are read only
-- for a user with a duplicate in the call or a threshold to cross; meeting one, the script answers { -1 } before any
-- write, so nothing has changed, and the caller sends the call again with them (ApplyUsageCall.NeedsValues).
local valuesOmitted = ARGV[UsageArg.ValuesOmitted] == '1'

-- The lists and records after the header, read in order: p is the position read last.
local p = layoutSize(UsageArg)
local counters = {}
for k = 1, counterCount do
  counters[k] = ARGV[p + k]
end
p = p + counterCount
local thresholds = {}
for t = 1, thresholdCount do
  thresholds[t] = ARGV[p + t]
end
p = p + thresholdCount

-- A user's keys are a UserKey record from userKeys: KEYS[userKeys(u) + UserKey.Budget].
local userKeysBase = UsageKey.FirstClaimSet - 1 + claimSets
local userKeySize = layoutSize(UserKey)
local function userKeys(u)
  return userKeysBase + (u - 1) * userKeySize
end

-- Users and events are located once; the group values stay in ARGV and are read where used. A record is read from
-- the position before it: ARGV[base + GroupArg.Day].
local groupSize = GroupArg.FirstCounter - 1 + counterCount
local userArgSize, eventSize, holdSize = layoutSize(UserArg), valuesOmitted and 1 or layoutSize(EventArg), layoutSize(HoldRef)
local users, members, valuesAt = {}, {}, {}
local n = 0
-- Read once for each event: ARGV and the layout tables are globals, each use a table lookup. A call without the
-- values has no position for them: valuesAt stays empty, so reading one there fails the call rather than misreads.
local argv, claimAt, packedAt = ARGV, EventArg.Claim, not valuesOmitted and EventArg.Packed
for u = 1, userCount do
  local user = {
    id = ARGV[p + UserArg.Id], groupCount = tonumber(ARGV[p + UserArg.GroupCount]), first = n + 1,
    last = n + tonumber(ARGV[p + UserArg.EventCount]), holdCount = tonumber(ARGV[p + UserArg.HoldCount]),
  }
  p = p + userArgSize
  user.groups = p
  p = p + user.groupCount * groupSize
  for _ = user.first, user.last do
    n = n + 1
    members[n] = argv[p + claimAt]
    if packedAt then
      valuesAt[n] = p + packedAt
    end
    p = p + eventSize
  end
  user.holds = p
  p = p + user.holdCount * holdSize
  users[u] = user
end
-- The group g of a user: the position before its record.
local function groupBase(user, g)
  return user.groups + (g - 1) * groupSize
end

local tagDelta = ARGV[p + 1]
local tagSets = tagDelta ~= '' and ARGV[p + 2] or ''
local rollupDelta = ARGV[p + (tagDelta ~= '' and 3 or 2)]
-- After the users' keys: the tag delta list when the call has a tag delta, then the rollup stream.
local tagDeltaKey = userKeys(userCount + 1) + 1
local rollupKey = KEYS[tagDeltaKey + (tagDelta ~= '' and 1 or 0)]
local mismatch = packedCountersError('apply-usage', counterCount)
if mismatch then
  return mismatch
end
