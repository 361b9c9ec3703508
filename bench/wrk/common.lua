-- What the wrk scripts of bench/wrk-holds.sh share (loaded by path from the repository's root, where it runs wrk):
-- a JSON POST with the run's ingest key, and each connection's pause of DELAY_MS between its requests, which sets
-- the rate (wrk has no fixed-rate mode).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Api-Key"] = os.getenv("KEY")

function delay()
  return tonumber(os.getenv("DELAY_MS") or "2")
end

function per_second(summary)
  return summary.requests / (summary.duration / 1e6)
end

-- Each wrk thread runs its own copy of a script, with its own counters: setup numbers the threads, so the ids two
-- threads make never collide (they did: with -t2 every event id came twice, and the ledger counted half the events).
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end
