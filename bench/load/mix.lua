-- wrk: the long run's mix, as the authenticating proxy speaking for a
-- leader: GETs of the paths in $WRK_PATHS (cached tiles, lists, details),
-- and every $WRK_POST_EVERY-th request an intake POST at a random place in
-- $WRK_BBOX (WRK_POST_EVERY=0: reads only). Prints RESULT like paths.lua.
local paths = {}
for line in io.lines(os.getenv("WRK_PATHS")) do
  if #line > 0 then paths[#paths + 1] = line end
end
local secret = os.getenv("WRK_SECRET")
local every = tonumber(os.getenv("WRK_POST_EVERY") or "20")
local w, s, e, n = string.match(os.getenv("WRK_BBOX"), "([^,]+),([^,]+),([^,]+),([^,]+)")
w, s, e, n = tonumber(w), tonumber(s), tonumber(e), tonumber(n)
local counter = 0
local threads = {}

function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(seed * 1000003 + os.time())
  i = seed * 7919
  non2xx = 0
  wrk.headers["X-Wangge-Role"] = "leader"
  wrk.headers["X-Wangge-Proxy-Secret"] = secret
  wrk.headers["Accept-Encoding"] = "gzip"
  -- wrk.format takes the headers it is given instead of wrk.headers.
  post_headers = {}
  for k, v in pairs(wrk.headers) do post_headers[k] = v end
  post_headers["Content-Type"] = "application/json"
end

function request()
  i = i + 1
  if every > 0 and i % every == 0 then
    local body = string.format(
      '{"category":"09.01","title":"long run report %d-%d","lon":%.6f,"lat":%.6f}',
      seed, i, w + (e - w) * math.random(), s + (n - s) * math.random())
    return wrk.format("POST", "/api/v1/events", post_headers, body)
  end
  return wrk.format("GET", paths[(i % #paths) + 1])
end

function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end

function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + (t:get("non2xx") or 0) end
  local e = summary.errors
  io.write(string.format("RESULT %d %.1f %.2f %.2f %d %d\n",
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, bad,
    e.connect + e.read + e.write + e.timeout))
end
