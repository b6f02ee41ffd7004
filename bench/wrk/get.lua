-- GET one page, optionally with cookies and a pause between requests.
--
--   BENCH_PATH           the page (default /)
--   BENCH_COOKIE         the Cookie header to send (unset: none)
--   BENCH_EXPECT_STATUS  the status that counts as a success (default 200)
--   BENCH_DELAY_MS       pause before each request on a connection (default 0): a paced
--                        probe, so the load it adds is the same with and without a flood
--   BENCH_LABEL          the label of the BENCH line
package.path = (os.getenv("BENCH_WRK_DIR") or ".") .. "/?.lua;" .. package.path
local stats = require("stats")

local path = os.getenv("BENCH_PATH") or "/"
local cookie = os.getenv("BENCH_COOKIE")
local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "0")

local headers = {}
if cookie and cookie ~= "" then
  headers["Cookie"] = cookie
end
local req = nil

function setup(thread)
  stats.setup(thread)
end

function init(args)
  req = wrk.format("GET", path, headers)
end

function request()
  return req
end

if delay_ms > 0 then
  function delay()
    return delay_ms
  end
end

response = stats.response
done = stats.done
