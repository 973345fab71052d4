#!/usr/bin/env bash
# bf16_cpu.sh: --precision on a CPU without native bf16, stood in for by
# oneDNN's own cap (ONEDNN_MAX_CPU_ISA=AVX2: oneDNN then has no bf16 kernel,
# as on an AVX2-only EPYC): `auto` trains in fp32; `bf16` trains, resumes,
# predicts, encodes and benchmarks on the emulated path with a one-line note,
# never an abort; and where this CPU has native bf16, the emulated run's
# training losses match the native run's to bf16 noise.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
avx2() { ONEDNN_MAX_CPU_ISA=AVX2 "$@"; }
prec() { jq -r '.pifi.train.precision' "$1/config.json"; }
losses() { jq -r '.loss' "$1/train_log.jsonl" | tr '\n' ' '; }

tsv "$DATA/sst2/stsa.binary.train" 96 > "$T/train.tsv"
tsv "$DATA/sst2/stsa.binary.dev" 32 > "$T/valid.tsv"
tsv "$DATA/sst2/stsa.binary.test" 32 > "$T/test.tsv"
"$PIFI" extract --llm "$gguf" --layer -1 -o "$T/layer" > /dev/null
common=(--slm "$slm" --llm-layer "$T/layer" --train "$T/train.tsv" --valid "$T/valid.tsv" --test "$T/test.tsv"
        --batch 8 --max-len 24 --max-steps 6 --eval-batch 32)

# auto: fp32 without native bf16
avx2 "$PIFI" train "${common[@]}" --precision auto -o "$T/auto" > /dev/null 2> "$T/auto.err"
ok '[[ $? -eq 0 ]] && [[ $(prec $T/auto) == fp32 ]]'
ok '! grep -q "emulated" $T/auto.err'

# bf16: emulated, said once, never an abort
avx2 "$PIFI" train "${common[@]}" --precision bf16 --save-every 2 -o "$T/emu" > /dev/null 2> "$T/emu.err"
status=$?
ok '[[ $status -eq 0 ]] && [[ $(prec $T/emu) == bf16 ]]'
ok '[[ $(grep -c "no native bf16.*emulated" $T/emu.err) -eq 1 ]]'
[[ $status -ne 0 ]] && tail -3 "$T/emu.err"

# a bf16 run stopped part-way resumes on the emulated path, bit-identical
avx2 "$PIFI" train "${common[@]}" --precision bf16 --save-every 2 -o "$T/emu2" > /dev/null 2>&1 &
pid=$!
for _ in $(seq 1 1200); do
  [[ -f $T/emu2/train_log.jsonl && $(wc -l < "$T/emu2/train_log.jsonl") -ge 3 ]] && break
  kill -0 $pid 2> /dev/null || break
  sleep 0.05
done
kill -INT $pid 2> /dev/null
wait $pid
avx2 "$PIFI" train --resume "$T/emu2" > /dev/null 2> "$T/emu2.err"
ok '[[ $? -eq 0 ]]'
ok 'cmp -s $T/emu/model.safetensors $T/emu2/model.safetensors'

# inference commands in bf16 on the emulated path
avx2 "$PIFI" predict "$T/emu" --precision bf16 "a gorgeous, witty, seductive movie." > "$T/pred.jsonl" 2> /dev/null
ok '[[ $? -eq 0 ]] && grep -q "\"label\"" $T/pred.jsonl'
avx2 "$PIFI" encode --model "$slm" --precision bf16 "some text" > "$T/enc.jsonl" 2> /dev/null
ok '[[ $? -eq 0 ]] && [[ -s $T/enc.jsonl ]]'
avx2 "$PIFI" eval "$T/emu" --precision bf16 --json > "$T/eval.json" 2> /dev/null
ok '[[ $? -eq 0 ]] && grep -q "\"accuracy\"" $T/eval.json'
avx2 "$PIFI" bench --mode gemm --json > "$T/gemm.json" 2> /dev/null
ok '[[ $? -eq 0 ]] && [[ $(jq -r .bf16 $T/gemm.json) == emulated ]] && jq -e ".bf16_gflops > 0" $T/gemm.json > /dev/null'

# against the native path, where this CPU has one
"$PIFI" bench --mode gemm --json > "$T/gemm_native.json" 2> /dev/null
if [[ $(jq -r .bf16 "$T/gemm_native.json") == native ]]; then
  "$PIFI" train "${common[@]}" --precision bf16 -o "$T/native" > /dev/null 2> "$T/native.err"
  ok '[[ $? -eq 0 ]] && ! grep -q "emulated" $T/native.err'
  # the same steps: the losses agree to bf16 noise (each step's products
  # differ by summation order only; activations round to bf16 at each layer)
  echo "native  : $(losses "$T/native")"
  echo "emulated: $(losses "$T/emu")"
  ok 'paste <(jq .loss $T/native/train_log.jsonl) <(jq .loss $T/emu/train_log.jsonl) |
      awk "{ d = \$1 - \$2; if (d < 0) d = -d; if (d > 0.02 * \$1 + 1e-3) bad = 1 } END { exit bad }"'
else
  echo "this CPU has no native bf16 ($(jq -r .isa "$T/gemm_native.json")): the native comparison is not run here"
fi
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
