#!/usr/bin/env bash
# serve_hostile.sh: `pifi serve` against a hostile client. Over 40 malformed
# requests (no or a wrong API key, unknown routes and methods, wrong content
# types, truncated bodies, invalid UTF-8, NUL, JSON nested 10,000 deep, 10 MB
# bodies declared and chunked, 100,000 texts, fields of the wrong type,
# negative and huge numbers, inputs over the model's length) each get their
# status and a one-line JSON error {"error", "error_type"}; malformed HTTP
# gets libmicrohttpd's 400; a slowloris client is cut off after --timeout;
# while a client keeps sending good requests, every one of them succeeds,
# and a good request at the end too. Then a second server: a full queue
# answers 503 with Retry-After, and SIGTERM lets the request in flight
# finish while a new one gets 503, then exits 0.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
source "$(dirname "${BASH_SOURCE[0]}")/serve_common.bash"
T=$(mktemp -d)
SPID="" GOOD=""
trap 'kill $SPID $GOOD 2> /dev/null; rm -rf "$T"' EXIT

serve_run "$T/run"
ok '[[ $? -eq 0 ]]'
KEY=k3y-$RANDOM$RANDOM
printf '%s\n' "$KEY" > "$T/key"
"$PIFI" serve "$T/run" --api-key-file "$T/nokey" > /dev/null 2> "$T/nokey.err"
ok '[[ $? -eq 2 ]] && grep -q "nokey" $T/nokey.err'
serve_start "$T/run" --precision fp32 --api-key-file "$T/key" --timeout 2 --max-body-bytes 1000000 \
  --max-input-length 10000 --max-client-batch-size 64
ok '[[ $? -eq 0 ]]'
AUTH=(-H "Authorization: Bearer $KEY")
JSON=(-H "Content-Type: application/json")

# expect CODE NAME CURL-ARGS...: the status, and a body of one line holding one JSON error
expect() {
  local want=$1 name=$2; shift 2
  local code
  code=$(curl -s -m 60 -o "$T/body" -w '%{http_code}' "$@")
  if [[ $code == "$want" && $(wc -l < "$T/body") -eq 1 ]] &&
     jq -se 'length == 1 and (.[0].error | type == "string") and (.[0].error_type | type == "string")' "$T/body" > /dev/null; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1)); echo "FAIL: $name: want $want, got $code: $(head -c 300 "$T/body")"
  fi
}
# raw NAME WANT BYTES: send bytes on a fresh socket and read the answer's status
# line: WANT is a regex for it, or "closed" for a connection closed without one
raw() {
  local name=$1 want=$2 bytes=$3 port=${URL##*:}
  exec 3<> "/dev/tcp/127.0.0.1/$port"
  printf "$bytes" >&3
  timeout 10 head -1 <&3 > "$T/raw" 2> /dev/null
  exec 3>&-
  if [[ $want == closed && ! -s $T/raw ]] || { [[ $want != closed ]] && grep -Eq "$want" "$T/raw"; }; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1)); echo "FAIL: $name: $(head -c 200 "$T/raw")"
  fi
}
trap '' PIPE # a socket the server closed: a failed write, not the end of the test

# a client that keeps sending good requests the whole time
good_loop() {
  local i=0
  while [[ ! -f $T/stop_good ]]; do
    i=$((i + 1))
    curl -s -m 60 -o /dev/null -w '%{http_code}\n' "${AUTH[@]}" "${JSON[@]}" --data-binary "{\"inputs\":\"good request $i\"}" \
      "$URL/predict" >> "$T/good.codes"
  done
}
good_loop & GOOD=$!

P=$URL/predict E=$URL/embed
# the API key
expect 401 "no key" "${JSON[@]}" --data-binary '{"inputs":"a"}' "$P"
expect 401 "wrong key" -H "Authorization: Bearer x$KEY" "${JSON[@]}" --data-binary '{"inputs":"a"}' "$P"
expect 401 "key prefix" -H "Authorization: Bearer ${KEY:0:4}" "${JSON[@]}" --data-binary '{"inputs":"a"}' "$P"
expect 401 "no Bearer" -H "Authorization: $KEY" "${JSON[@]}" --data-binary '{"inputs":"a"}' "$P"
expect 401 "basic auth" -u "user:$KEY" "${JSON[@]}" --data-binary '{"inputs":"a"}' "$P"
expect 401 "no key on /metrics" "$URL/metrics"
# routes and methods
expect 404 "unknown route" "${AUTH[@]}" "$URL/nope"
expect 404 "unknown POST route" "${AUTH[@]}" "${JSON[@]}" --data-binary '{"inputs":"a"}' "$URL/predict/x"
expect 404 "path with dots" "${AUTH[@]}" --path-as-is "$URL/../../etc/passwd"
expect 405 "GET /predict" "${AUTH[@]}" "$P"
expect 405 "DELETE /embed" "${AUTH[@]}" -X DELETE "$E"
expect 405 "POST /health" "${AUTH[@]}" "${JSON[@]}" --data-binary '{}' "$URL/health"
expect 405 "PUT /metrics" "${AUTH[@]}" -X PUT "$URL/metrics"
# content types
expect 415 "no content type" "${AUTH[@]}" -H "Content-Type:" --data-binary '{"inputs":"a"}' "$P"
expect 415 "form" "${AUTH[@]}" --data-binary '{"inputs":"a"}' "$P"
expect 415 "text/plain" "${AUTH[@]}" -H "Content-Type: text/plain" --data-binary '{"inputs":"a"}' "$P"
expect 415 "application/jsonx" "${AUTH[@]}" -H "Content-Type: application/jsonx" --data-binary '{"inputs":"a"}' "$P"
# bodies that are not JSON, or not valid text
expect 400 "empty body" "${AUTH[@]}" "${JSON[@]}" -X POST "$P"
expect 400 "truncated string" "${AUTH[@]}" "${JSON[@]}" --data-binary '{"inputs": "abc' "$P"
expect 400 "truncated array" "${AUTH[@]}" "${JSON[@]}" --data-binary '{"inputs": ["a", "b"' "$P"
expect 400 "truncated object" "${AUTH[@]}" "${JSON[@]}" --data-binary '{"inputs"' "$E"
expect 400 "data after the value" "${AUTH[@]}" "${JSON[@]}" --data-binary '{"inputs":"a"} {"inputs":"b"}' "$P"
printf '{"inputs":"caf\xe9"}' > "$T/latin1.json"
expect 400 "invalid UTF-8" "${AUTH[@]}" "${JSON[@]}" --data-binary "@$T/latin1.json" "$P"
printf '{"inputs":"\xc0\xaf"}' > "$T/overlong.json"
expect 400 "overlong UTF-8" "${AUTH[@]}" "${JSON[@]}" --data-binary "@$T/overlong.json" "$P"
printf '{"inputs":"\xed\xa0\x80"}' > "$T/surrogate.json"
expect 400 "UTF-8 surrogate" "${AUTH[@]}" "${JSON[@]}" --data-binary "@$T/surrogate.json" "$E"
expect 400 "lone surrogate escape" "${AUTH[@]}" "${JSON[@]}" --data-binary '{"inputs":"\ud800"}' "$P"
expect 400 "NUL escape" "${AUTH[@]}" "${JSON[@]}" --data-binary '{"inputs":"a\u0000b"}' "$P"
printf '{"inputs":"a\0b"}' > "$T/nul.json"
expect 400 "NUL byte" "${AUTH[@]}" "${JSON[@]}" --data-binary "@$T/nul.json" "$P"
head -c 10000 /dev/zero | tr '\0' '[' > "$T/deep.json"
expect 400 "arrays 10,000 deep" "${AUTH[@]}" "${JSON[@]}" --data-binary "@$T/deep.json" "$P"
{ for i in $(seq 10000); do printf '{"inputs":'; done; printf '"a"'; for i in $(seq 10000); do printf '}'; done; } > "$T/deep2.json"
expect 400 "objects 10,000 deep" "${AUTH[@]}" "${JSON[@]}" --data-binary "@$T/deep2.json" "$E"
# sizes
head -c 10000000 /dev/zero | tr '\0' 'a' | sed 's/^/{"inputs":"/; s/$/"}/' > "$T/10mb.json"
expect 413 "10 MB body" "${AUTH[@]}" "${JSON[@]}" --data-binary "@$T/10mb.json" "$P"
expect 413 "10 MB chunked body" "${AUTH[@]}" "${JSON[@]}" -H "Transfer-Encoding: chunked" --data-binary "@$T/10mb.json" "$P"
jq -cn '{inputs: [range(100000) | "a"]}' > "$T/100k.json"
expect 413 "100,000 texts" "${AUTH[@]}" "${JSON[@]}" --data-binary "@$T/100k.json" "$E"
jq -cn '{inputs: [range(100000) | ["a"]]}' > "$T/100k_batch.json"
expect 413 "100,000 one-text inputs" "${AUTH[@]}" "${JSON[@]}" --data-binary "@$T/100k_batch.json" "$P"
jq -cn --arg t "$(head -c 20000 /dev/zero | tr '\0' 'b')" '{inputs: $t}' > "$T/long.json"
expect 413 "text over --max-input-length" "${AUTH[@]}" "${JSON[@]}" --data-binary "@$T/long.json" "$P"
# fields missing or of the wrong type, numbers
expect 400 "no inputs" "${AUTH[@]}" "${JSON[@]}" --data-binary '{}' "$P"
expect 400 "inputs misspelt" "${AUTH[@]}" "${JSON[@]}" --data-binary '{"input":"a"}' "$E"
expect 400 "a top-level array" "${AUTH[@]}" "${JSON[@]}" --data-binary '["a"]' "$P"
expect 400 "a top-level string" "${AUTH[@]}" "${JSON[@]}" --data-binary '"a"' "$P"
expect 400 "inputs a number" "${AUTH[@]}" "${JSON[@]}" --data-binary '{"inputs":5}' "$P"
expect 400 "inputs negative" "${AUTH[@]}" "${JSON[@]}" --data-binary '{"inputs":-1}' "$E"
expect 400 "inputs huge" "${AUTH[@]}" "${JSON[@]}" --data-binary '{"inputs":1e999}' "$P"
expect 400 "inputs null" "${AUTH[@]}" "${JSON[@]}" --data-binary '{"inputs":null}' "$P"
expect 400 "inputs an object" "${AUTH[@]}" "${JSON[@]}" --data-binary '{"inputs":{"text":"a"}}' "$P"
expect 400 "inputs empty" "${AUTH[@]}" "${JSON[@]}" --data-binary '{"inputs":[]}' "$E"
expect 400 "numbers as texts" "${AUTH[@]}" "${JSON[@]}" --data-binary '{"inputs":[1, 2]}' "$E"
expect 400 "three strings" "${AUTH[@]}" "${JSON[@]}" --data-binary '{"inputs":["a","b","c"]}' "$P"
expect 400 "a triple in a batch" "${AUTH[@]}" "${JSON[@]}" --data-binary '{"inputs":[["a"],["a","b","c"]]}' "$P"
expect 400 "a number in a batch" "${AUTH[@]}" "${JSON[@]}" --data-binary '{"inputs":[["a"],-5]}' "$P"
expect 400 "pairs to /embed" "${AUTH[@]}" "${JSON[@]}" --data-binary '{"inputs":[["a","b"]]}' "$E"
expect 400 "truncate a string" "${AUTH[@]}" "${JSON[@]}" --data-binary '{"inputs":"a","truncate":"yes"}' "$P"
expect 400 "raw_scores a number" "${AUTH[@]}" "${JSON[@]}" --data-binary '{"inputs":"a","raw_scores":1}' "$P"
expect 400 "normalize huge" "${AUTH[@]}" "${JSON[@]}" --data-binary '{"inputs":"a","normalize":-1e308}' "$E"
# inputs the model cannot take
expect 422 "texts and pairs mixed" "${AUTH[@]}" "${JSON[@]}" --data-binary '{"inputs":[["a"],["b","c"]]}' "$P"
jq -cn --arg t "$(for i in $(seq 300); do printf 'w%d ' "$i"; done)" '{inputs: $t}' > "$T/tokens.json"
expect 422 "over the model's length" "${AUTH[@]}" "${JSON[@]}" --data-binary "@$T/tokens.json" "$P"
# HTTP that is not HTTP: libmicrohttpd's own 400 (or a closed connection)
raw "garbage request line" closed 'GARBAGE\r\n\r\n'
raw "binary noise" closed '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n'
raw "no Host in HTTP/1.1" '^HTTP/1\.1 40[01] ' 'GET /health HTTP/1.1\r\n\r\n'
raw "bad Content-Length" '^HTTP/1\.1 400 ' "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"
raw "huge Content-Length" '^HTTP/1\.1 413 ' "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n"
raw "header over 32 KB" '^HTTP/1\.1 431 ' "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: $(head -c 40000 /dev/zero | tr '\0' x)\r\n\r\n"
raw "truncated body, then EOF" closed "POST /predict HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $KEY\r\nContent-Type: application/json\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{\"inputs\":"
# slowloris: headers a byte at a time, slower than --timeout 2 allows: the server hangs up
port=${URL##*:}
start=$SECONDS
exec 4<> "/dev/tcp/127.0.0.1/$port"
for c in P O S T ' ' /; do printf '%s' "$c" >&4 2> /dev/null || break; sleep 1; done
for c in p r e d i c t; do printf '%s' "$c" >&4 2> /dev/null || break; sleep 3; done
timeout 10 cat <&4 > /dev/null 2>&1
exec 4>&-
ok '(( SECONDS - start < 30 ))'

touch "$T/stop_good"
wait $GOOD
GOOD=""
ok '[[ $(grep -c . $T/good.codes) -ge 3 && $(grep -vc "^200$" $T/good.codes) -eq 0 ]] || { sort $T/good.codes | uniq -c; false; }'
post /predict '{"inputs":"a good request at the end"}' "${AUTH[@]}" > "$T/end.out"
ok 'tail -1 $T/end.out | grep -q "HTTP 200" && head -1 $T/end.out | jq -e "length == 2" > /dev/null'
curl -s "${AUTH[@]}" "$URL/metrics" > "$T/metrics.txt"
ok 'grep -Eq "^pifi_requests_total\{endpoint=\"/predict\",status=\"400\"\} [1-9]" $T/metrics.txt'
ok 'grep -Eq "^pifi_errors_total\{type=\"Unauthorized\"\} [5-9]" $T/metrics.txt'
ok 'grep -q "^pifi_request_duration_seconds_count{endpoint=\"/predict\"} " $T/metrics.txt'
ok 'jq -e . $SERVE_ERR > /dev/null'
serve_stop
ok '[[ $SERVE_STATUS -eq 0 ]]'

# a second server: a queue of one, and a batch that waits 3 s for company
SERVE_ERR=$T/serve2.err
serve_start "$T/run" --precision fp32 --max-queue 1 --max-wait-ms 3000
ok '[[ $? -eq 0 ]]'
post /predict '{"inputs":"the first request"}' > "$T/first.out" &
first=$!
for _ in $(seq 100); do curl -s "$URL/metrics" | grep -q "^pifi_queue_depth 1$" && break; sleep 0.05; done
curl -s -D "$T/503.h" -o "$T/503.b" -H "Content-Type: application/json" --data-binary '{"inputs":"b"}' "$URL/predict"
ok 'grep -q "^HTTP/1.1 503" $T/503.h && grep -qi "^Retry-After: 1" $T/503.h && jq -e ".error_type == \"Overloaded\"" $T/503.b > /dev/null'
kill -TERM "$SPID"
for _ in $(seq 100); do grep -q '"event":"draining"' "$SERVE_ERR" && break; sleep 0.05; done
expect 503 "after SIGTERM" "${JSON[@]}" --data-binary '{"inputs":"late"}' "$URL/predict"
ok 'jq -e ".error_type == \"Unhealthy\"" $T/body > /dev/null'
wait $first
ok 'tail -1 $T/first.out | grep -q "HTTP 200"'
wait "$SPID"
ok '[[ $? -eq 0 ]]'
SPID=""
ok 'tail -1 $SERVE_ERR | grep -q "\"event\":\"stopped\""'
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
