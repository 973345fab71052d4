# serve_common.bash: what the `pifi serve` tests share (sourced after
# common.bash; not a test: the CTest glob takes tests/cli/*.sh).
#   serve_run DIR         train the tiny run the tests serve: the real MiniLM with
#                         stories260K's last layer plugged in (PiFi), 64 SST-2 rows,
#                         one epoch, fp32
#   serve_start RUN ARGS  start `pifi serve RUN --port 0 ARGS...` in the background
#                         (SPID), wait for the port it prints (URL); 1 if it never does
#   serve_stop            SIGTERM, then its exit status in SERVE_STATUS
#   post PATH BODY [CURL ARGS]  POST a JSON body: prints the body, then "HTTP <code>"
serve_run() {
  "$PIFI" extract --llm "$gguf" --layer -1 -o "$1.layer" > /dev/null &&
    tsv "$DATA/sst2/stsa.binary.train" 64 > "$1.tsv" &&
    "$PIFI" train --slm "$slm" --llm-layer "$1.layer" --train "$1.tsv" --epochs 1 --batch 16 --precision fp32 \
      -o "$1" > /dev/null 2> "$1.train.err"
}

serve_start() {
  local run=$1; shift
  SERVE_OUT=$T/serve.$RANDOM.out SERVE_ERR=${SERVE_ERR:-$T/serve.err}
  "$PIFI" serve "$run" --port 0 "$@" > "$SERVE_OUT" 2> "$SERVE_ERR" &
  SPID=$!
  local port=""
  for _ in $(seq 600); do # model loading takes seconds (more under the sanitizers)
    port=$(sed -nE 's|^listening on http://127\.0\.0\.1:([0-9]+)$|\1|p' "$SERVE_OUT")
    [[ -n $port ]] && break
    kill -0 "$SPID" 2> /dev/null || break
    sleep 0.1
  done
  [[ -n $port ]] || { echo "serve did not start:"; cat "$SERVE_ERR"; return 1; }
  URL=http://127.0.0.1:$port
}

serve_stop() {
  kill -TERM "$SPID" 2> /dev/null
  wait "$SPID"
  SERVE_STATUS=$?
}

post() {
  local path=$1 body=$2; shift 2
  curl -s -m 60 -w '\nHTTP %{http_code}' -H 'Content-Type: application/json' --data-binary "$body" "$@" "$URL$path"
}
