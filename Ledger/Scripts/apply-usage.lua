-- Applies one ledger bucket's share of one month's usage, every user's and the bucket's month increments, in one
-- atomic step. ApplyUsageCall.cs builds the arguments and reads the reply; this comment names them only. The script
-- is this file (the arguments) and its sections, joined in this order after prelude.lua (ApplyUsageCall.Script):
-- apply-usage-claims.lua (which events are new), apply-usage-helpers.lua (queued writes, budgets, holds, handed-back
-- alerts), apply-usage-users.lua (each user's month and thresholds), apply-usage-month.lua (the bucket's month, the
-- tag delta, the writes and the reply). They share this file's locals.
--
-- KEYS: month totals, month users (report index), the claim sets of the dedup window (the current period's first),
-- then per user: user-month hash, budget, hold data (budget-holds.lua in the API), the user's own alert thresholds
-- (comma-separated percentages; missing: the ARGV thresholds), then, when the call's events carry tags, the bucket's
-- tag delta list, then, with history on, the bucket's rollup stream.
-- ARGV, read in order: expireAt, defaultBudgetMicros, claimSetCount, the current claim set's expireAt,
-- counterCount, the counter field names (cost first), the position of the requests counter, the alert field
-- prefix, the pending state word, the held field of the hold data, thresholdCount, thresholds..., userCount, then
-- per user: userId, groupCount, eventCount, holdCount, per group (the user's events of one model and day, summed by
-- the caller): model field, day field, one value a counter; then per event in order: its claim (a digest of
-- userId|eventId) and its counters, group, time (Unix ms) and id packed as c1,...,cN,group,occurredAt,eventId; then
-- per event carrying a budget hold: its position among the user's events (1-based) and the holdId. After every
-- user: the call's tag delta (JSON, empty without tags), then with one, the events' tag set numbers (0: none),
-- comma-separated in call order; then the call's daily rollup delta (JSON, empty with history off).
-- Returns { alertCount, alerts..., duplicateIndexes... }: each alert is userIndex, threshold, eventIndex (1-based in
-- the call, 0 for an alert left pending by an earlier attempt), spentMicros, budgetMicros, crossedAt (Unix ms: the
-- crossing event's occurredAt, kept in the alert state as pending|eventId|spent|crossedAt; 0 when unknown).
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

local p = 0
local function take()
  p = p + 1
  return ARGV[p]
end

local expireAt = take()
local defaultBudget = take()
local claimSets = tonumber(take())
local claimsExpireAt = take()
local userKeys = 2 + claimSets
-- Keys per user: month hash, budget, hold data, thresholds.
local stride = 4
local counterCount = tonumber(take())
local counters = {}
for k = 1, counterCount do
  counters[k] = take()
end
local requestsAt = tonumber(take())
local alertPrefix = take()
local pendingWord = take()
local pending = pendingWord .. '|'
local heldField = take()
local thresholdCount = tonumber(take())
local thresholds = {}
for t = 1, thresholdCount do
  thresholds[t] = take()
end

-- Users and events are located once; the group values stay in ARGV and are read where used.
local userCount = tonumber(take())
local users, members, valuesAt = {}, {}, {}
local n = 0
for u = 1, userCount do
  local id, groupCount, count, holdCount = take(), tonumber(take()), tonumber(take()), tonumber(take())
  users[u] = { id = id, groups = p + 1, groupCount = groupCount, first = n + 1, last = n + count, holdCount = holdCount }
  p = p + groupCount * (2 + counterCount)
  for _ = 1, count do
    n = n + 1
    members[n] = take()
    valuesAt[n] = p + 1
    p = p + 1
  end
  users[u].holdsAt = p + 1
  p = p + 2 * holdCount
end
local tagDelta = take()
local tagSets = tagDelta ~= '' and take() or ''
local rollupDelta = take()
local rollupKey = KEYS[userKeys + userCount * stride + (tagDelta ~= '' and 2 or 1)]
local mismatch = packedCountersError('apply-usage', counterCount)
if mismatch then
  return mismatch
end
