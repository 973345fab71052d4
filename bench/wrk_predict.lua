-- wrk_predict.lua: POST /predict with one text per request, the texts taken
-- in turn from a fixed list of SST-2-like sentences; counts the responses by
-- status and prints them as one JSON line at the end (bench/serve.sh).
local texts = {
  "a gripping, funny and moving film",
  "the plot is thin and the acting wooden",
  "it is a well-made , often hilarious comedy about a family that cannot stop arguing",
  "dull",
  "an ambitious , sprawling epic that never quite finds its footing , but the performances are worth the price",
  "i loved it",
  "too long by half , and the jokes land with a thud",
  "a triumph of style over substance , yet the style is considerable",
}
local i = 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("statuses", {})
end

request = function()
  i = i % #texts + 1
  local body = '{"inputs": "' .. texts[i] .. '"}'
  return wrk.format("POST", "/predict", {["Content-Type"] = "application/json"}, body)
end

response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses")) do total[k] = (total[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(total) do table.insert(parts, string.format('"%d": %d', k, v)) end
  io.write(string.format('WRK {"requests": %d, "seconds": %.3f, "rps": %.2f, "p50_ms": %.3f, "p99_ms": %.3f, '
    .. '"errors_connect": %d, "errors_read": %d, "errors_timeout": %d, "statuses": {%s}}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.errors.connect, summary.errors.read,
    summary.errors.timeout, table.concat(parts, ", ")))
end
