-- Shared by the bench scripts: counts responses by status in each wrk thread and
-- prints one machine-readable line at the end, read by bench/run.sh:
--
--   BENCH label=<l> ok=<n> bad=<n> seconds=<s> ok_per_s=<r> p50_ms=<x> p90_ms=<x>
--         p99_ms=<x> max_ms=<x> statuses=<code:count,...> socket_errors=<n>
--
-- `ok` counts responses whose status is BENCH_EXPECT_STATUS (200 unless set): wrk itself
-- counts a redirect to the login page as a success, this does not.

local stats = {}

local expect = tonumber(os.getenv("BENCH_EXPECT_STATUS") or "200")
local label = os.getenv("BENCH_LABEL") or "run"

local threads = {}
local next_id = 0

-- Main state: remember every thread to collect its counters in done().
function stats.setup(thread)
  thread:set("thread_id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

-- Thread state.
ok_count = 0
bad_count = 0
status_counts = {}

function stats.response(status, headers, body)
  if status == expect then
    ok_count = ok_count + 1
  else
    bad_count = bad_count + 1
  end
  status_counts[status] = (status_counts[status] or 0) + 1
end

function stats.done(summary, latency, requests)
  local ok, bad = 0, 0
  local merged = {}
  for _, thread in ipairs(threads) do
    ok = ok + (thread:get("ok_count") or 0)
    bad = bad + (thread:get("bad_count") or 0)
    -- wrk copies a table from the thread's Lua state into this one.
    for code, count in pairs(thread:get("status_counts") or {}) do
      merged[code] = (merged[code] or 0) + count
    end
  end
  local parts = {}
  for code, count in pairs(merged) do
    table.insert(parts, code .. ":" .. count)
  end
  table.sort(parts)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  local socket_errors = e.connect + e.read + e.write + e.timeout
  io.write(string.format(
    "BENCH label=%s ok=%d bad=%d seconds=%.2f ok_per_s=%.2f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f statuses=%s socket_errors=%d timeouts=%d\n",
    label, ok, bad, seconds, ok / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    table.concat(parts, ","), socket_errors, e.timeout))
end

return stats
