-- wrk: GET the paths listed in the file $WRK_PATHS, one a line, each thread
-- cycling through them from its own starting point, as the authenticating
-- proxy speaking for a leader (X-Wangge-Proxy-Secret from $WRK_SECRET).
-- At the end prints one line: RESULT requests rps p50_ms p99_ms non2xx errors.
local paths = {}
for line in io.lines(os.getenv("WRK_PATHS")) do
  if #line > 0 then paths[#paths + 1] = line end
end
local secret = os.getenv("WRK_SECRET")
local counter = 0
local threads = {}

function setup(thread)
  counter = counter + 1
  thread:set("start", counter * 7919)
  table.insert(threads, thread)
end

function init(args)
  i = start
  non2xx = 0
  wrk.headers["X-Wangge-Role"] = "leader"
  wrk.headers["X-Wangge-Proxy-Secret"] = secret
  wrk.headers["Accept-Encoding"] = "gzip"
end

function request()
  i = i + 1
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
