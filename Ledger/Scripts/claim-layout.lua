-- Stores the ledger's layout where none is, and when the ledger first met the current claim form, in one atomic step
-- (LedgerLayoutCheck; every service runs it at start).
-- KEYS: the bucket count's key, the claim form's key (both under {llmcost}, one slot).
-- ARGV: this service's bucket count; now (Unix seconds).
-- Returns { the bucket count stored before (false: none, a new ledger), the Unix seconds since which the ledger has
-- claims of the current form }: 0 for a ledger this step creates (it never held the older form); for a ledger
-- written before the form changed, the first start of a service that knows the change.
local stored = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'GET')
redis.call('SET', KEYS[2], stored and ARGV[2] or '0', 'NX')
return { stored, redis.call('GET', KEYS[2]) }
