-- What the wrk scripts share (loaded by path from the repository's root, where it runs wrk): a JSON POST with the
-- run's ingest key, the request built cheaply (post), and each connection's pause of DELAY_MS between its requests,
-- which sets the rate (wrk has no fixed-rate mode).
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

-- A POST of body to path with the script's headers, as wrk.format writes it, in one join: the request line and the
-- headers but Content-Length are built at the first call and kept. wrk.format builds them again for every request,
-- through a table and pairs(), which LuaJIT leaves to its interpreter (docs/benchmarks-history.md, stop 55).
local heads = {}
function post(path, body)
  local head = heads[path]
  if head == nil then
    local lines = { string.format("%s %s HTTP/1.1", wrk.method, path) }
    for name, value in pairs(wrk.headers) do
      if name ~= "Content-Length" then
        lines[#lines + 1] = string.format("%s: %s", name, value)
      end
    end
    lines[#lines + 1] = "Content-Length: "
    head = table.concat(lines, "\r\n")
    heads[path] = head
  end
  return head .. #body .. "\r\n\r\n" .. body
end
