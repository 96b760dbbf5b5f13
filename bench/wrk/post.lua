-- POSTs the given requests in turn and prints one JSON summary line at the end.
--   wrk ... -s post.lua http://127.0.0.1:PORT -- PATH@BODY_FILE [PATH@BODY_FILE...]
-- A 200 answer whose body carries "errors" counts as a GraphQL error.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

local paths = {}
local bodies = {}
local next_body = 1
gql_errors = 0
responses = 0

function init(args)
  for _, arg in ipairs(args) do
    local at = assert(string.find(arg, "@", 1, true), "arguments are PATH@BODY_FILE")
    table.insert(paths, string.sub(arg, 1, at - 1))
    local file = assert(io.open(string.sub(arg, at + 1), "rb"))
    table.insert(bodies, file:read("*a"))
    file:close()
  end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local index = next_body
  next_body = next_body % #bodies + 1
  return wrk.format(nil, paths[index], nil, bodies[index])
end

function response(status, headers, body)
  responses = responses + 1
  if status == 200 and string.find(body, '"errors"', 1, true) then
    gql_errors = gql_errors + 1
  end
end

function done(summary, latency, requests)
  local errors = 0
  for _, thread in ipairs(threads) do
    errors = errors + thread:get("gql_errors")
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "status_errors": %d, "timeouts": %d, ' ..
    '"graphql_errors": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, ' ..
    '"mean_us": %.1f, "max_us": %d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, errors, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.mean, latency.max))
end
