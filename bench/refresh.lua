-- wrk script: grant_type refresh_token, each refresh rotating a chain.
-- bench/load.sh signs in a few times and passes the refresh tokens as
-- arguments (wrk … -s bench/refresh.lua URL -- TOKEN…): more of them than
-- connections, so a connection always finds one. Every request takes a
-- token from the pool and every answer puts its successor back, so each
-- token is presented once: single use holds and no answer is a replay.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local pool = {}

function init(args)
  for _, tok in ipairs(args) do pool[#pool + 1] = tok end
end

function request()
  local tok = table.remove(pool)
  if tok == nil then
    -- Every chain broke (non-200 answers): an empty token is refused
    -- with 400 and counted, rather than a replay revoking a session.
    tok = ""
  end
  return wrk.format(nil, nil, nil, '{"grant_type":"refresh_token","refresh_token":"' .. tok .. '"}')
end

function response(status, headers, body)
  if status == 200 then
    local next = body:match('"refresh_token":"([^"]+)"')
    if next then pool[#pool + 1] = next end
  end
end

function done(summary, latency, requests)
  io.write(string.format("non-200 answers: %d\n", summary.errors.status))
end
