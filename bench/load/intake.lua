-- wrk: POST /api/v1/events (intake) as the authenticating proxy speaking for
-- a leader, at random places inside the town's box ($WRK_BBOX = w,s,e,n) and
-- in a few categories. Prints RESULT like paths.lua (non2xx counts anything
-- but 201).
local secret = os.getenv("WRK_SECRET")
local w, s, e, n = string.match(os.getenv("WRK_BBOX"), "([^,]+),([^,]+),([^,]+),([^,]+)")
w, s, e, n = tonumber(w), tonumber(s), tonumber(e), tonumber(n)
local cats = { "01.01", "02.01", "03.01", "05.02", "09.01" }
local counter = 0
local threads = {}

function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(seed * 1000003 + os.time())
  non2xx = 0
  k = 0
  wrk.method = "POST"
  wrk.headers["X-Wangge-Role"] = "leader"
  wrk.headers["X-Wangge-Proxy-Secret"] = secret
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  k = k + 1
  local lon = w + (e - w) * math.random()
  local lat = s + (n - s) * math.random()
  local body = string.format(
    '{"category":"%s","title":"load test report %d-%d","lon":%.6f,"lat":%.6f}',
    cats[(k % #cats) + 1], seed, k, lon, lat)
  return wrk.format("POST", "/api/v1/events", nil, body)
end

function response(status, headers, body)
  if status ~= 201 then non2xx = non2xx + 1 end
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
