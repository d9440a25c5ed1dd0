-- wrk script: password sign-in for the user bench/load.sh creates.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"grant_type":"password","email":"bench@example.com","password":"load test passphrase"}'

-- Count non-200 answers so a run that only measured errors is visible.
local bad = 0
response = function(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format("non-200 answers: %d\n", summary.errors.status))
end
