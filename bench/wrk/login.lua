-- POST /users/log_in with the right password for bench users in turn, the way a browser
-- submits the form: the CSRF cookie plus the `_csrf` hidden field (the token is an HMAC of
-- the cookie, so one cookie/token pair serves every request).
--
--   BENCH_USERS          how many users were registered (emails use BENCH_EMAIL_FORMAT)
--   BENCH_EMAIL_FORMAT   a string.format pattern with one %d (default bench-%d@example.com)
--   BENCH_PASSWORD       their password
--   BENCH_CSRF_COOKIE    the Cookie header: `<csrf cookie name>=<value>`
--   BENCH_CSRF_TOKEN     the `_csrf` field value for that cookie
--   BENCH_EXPECT_STATUS  303 (a successful login redirects)
--   BENCH_LABEL          the label of the BENCH line
--   BENCH_NEW_IPS        1: every login comes from a new address (X-Forwarded-For from the
--                        IPv6 documentation range 2001:db8::/32; the server trusts one proxy),
--                        so each login is a "new address" login: audited, and its notice
--                        enqueued in the outbox and delivered by the job worker during the flood
package.path = (os.getenv("BENCH_WRK_DIR") or ".") .. "/?.lua;" .. package.path
local stats = require("stats")

local users = tonumber(os.getenv("BENCH_USERS") or "1")
local email_format = os.getenv("BENCH_EMAIL_FORMAT") or "bench-%d@example.com"
local password = os.getenv("BENCH_PASSWORD") or ""
local csrf_cookie = os.getenv("BENCH_CSRF_COOKIE") or ""
local csrf_token = os.getenv("BENCH_CSRF_TOKEN") or ""
local new_ips = os.getenv("BENCH_NEW_IPS") == "1"

local function urlencode(s)
  return (string.gsub(s, "[^%w%-%._~]", function(c)
    return string.format("%%%02X", string.byte(c))
  end))
end

local headers = {
  ["Content-Type"] = "application/x-www-form-urlencoded",
  ["Cookie"] = csrf_cookie,
}

local counter = 0
local step = 1

function setup(thread)
  stats.setup(thread)
end

function init(args)
  -- Threads start at different users and stride by a large prime, so they rarely log the
  -- same user in at the same moment.
  counter = (thread_id or 0) * 7919
  step = 1
end

function request()
  counter = counter + step
  local n = (counter % users) + 1
  local body = "email=" .. urlencode(string.format(email_format, n))
    .. "&password=" .. urlencode(password)
    .. "&_csrf=" .. urlencode(csrf_token)
  if new_ips then
    -- A header value only: no traffic goes anywhere but 127.0.0.1.
    headers["X-Forwarded-For"] = string.format("2001:db8:%x:%x::%x",
      thread_id or 0, math.floor(counter / 65536) % 65536, counter % 65536)
  end
  return wrk.format("POST", "/users/log_in", headers, body)
end

response = stats.response
done = stats.done
