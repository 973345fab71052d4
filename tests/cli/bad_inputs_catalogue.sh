#!/usr/bin/env bash
# bad_inputs_catalogue.sh: every case of tests/bad_inputs/cases.tsv, on the
# files tests/bad_inputs/make.sh writes into a fresh temporary directory: the
# exit status and the WHOLE stderr must be exactly as listed (one line
# "pifi: ...", plus the listed "hint: ..." line for usage errors), and a case
# that names an output (-o) must leave nothing there.
#
# cases.tsv columns (tab-separated; '#' lines are comments):
#   id  status  message  hint  command
# Placeholders, substituted before the command runs: @PIFI@ the binary, @D@
# the generated directory, @FIX@ tests/fixtures, @MODELS@ PIFI_MODELS, @SHARED@
# PIFI_SHARED. In message and hint, @D@ stands for the generated directory
# (paths appear verbatim in pifi's messages). hint '-' means no second line.
#
# PIFI_BAD_SHOW=1 prints what each case gives now, in cases.tsv form (for
# writing new cases). PIFI_BAD_ONLY=ID runs one case.
set -u
PIFI=${PIFI_BIN:?PIFI_BIN must point at the pifi binary}
HERE=$(cd "$(dirname "$0")/.." && pwd)
export PIFI_FIXTURES=${PIFI_FIXTURES:-$HERE/fixtures}
MODELS=${PIFI_MODELS:-$HERE/../models}
SHARED=${PIFI_SHARED:-$HERE/../../shared}
export PIFI_MODELS=$MODELS PIFI_SHARED=$SHARED PIFI_BIN=$PIFI
if [[ ! -f $MODELS/all-MiniLM-L6-v2/tokenizer.json || ! -f $SHARED/models/stories260K/stories260K.gguf ]]; then
  echo "SKIPPED: needs $MODELS/all-MiniLM-L6-v2 (scripts/get-models.sh) and $SHARED/models/stories260K"
  exit 77
fi
export OMP_NUM_THREADS=1
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
if ! bash "$HERE/bad_inputs/make.sh" "$D" > "$D.make.log" 2>&1; then
  echo "FAIL: tests/bad_inputs/make.sh:"; cat "$D.make.log"; rm -f "$D.make.log"; exit 1
fi
rm -f "$D.make.log"

# sub S QUOTE: the placeholders of S replaced (shell-quoted when QUOTE=1)
sub() {
  local s=$1 q=$2 k v
  for k in PIFI D FIX MODELS SHARED; do
    case $k in
      PIFI) v=$PIFI ;; D) v=$D ;; FIX) v=$PIFI_FIXTURES ;; MODELS) v=$MODELS ;; SHARED) v=$SHARED ;;
    esac
    [[ $q == 1 ]] && v=$(printf '%q' "$v")
    s=${s//@$k@/$v}
  done
  printf '%s' "$s"
}

# snap PATH: a digest of what is at PATH (empty when nothing is)
snap() {
  [[ -n $1 && -e $1 ]] || return 0
  if [[ -d $1 ]]; then (cd "$1" && find . -type f -print0 | sort -z | xargs -0 -r md5sum | md5sum)
  else md5sum < "$1"; fi
}

n=0 good=0
while IFS=$'\t' read -r id want_status want_msg want_hint cmd; do
  [[ -z $id || $id == \#* ]] && continue
  [[ -n ${PIFI_BAD_ONLY:-} && $id != "$PIFI_BAD_ONLY" ]] && continue
  n=$((n + 1))
  line=$(sub "$cmd" 1)
  # the output an -o names: absent before means absent after, present means unchanged
  out=
  [[ $line =~ \ -o\ ([^ ]+) ]] && out=$(eval "printf '%s' ${BASH_REMATCH[1]}")
  before=$(snap "$out")
  err=$(cd "$D" && eval "$line" 2>&1 >/dev/null </dev/null); status=$?
  if [[ -n ${PIFI_BAD_SHOW:-} ]]; then
    shown=${err//$D/@D@}
    first=${shown%%$'\n'*} rest=-
    [[ $shown == *$'\n'* ]] && rest=${shown#*$'\n'}
    printf '%s\t%s\t%s\t%s\t%s\n' "$id" "$status" "$first" "$rest" "$cmd"
    continue
  fi
  want=$(sub "$want_msg" 0)
  [[ $want_hint != - ]] && want+=$'\n'$(sub "$want_hint" 0)
  ok=1
  [[ $status == "$want_status" && $err == "$want" ]] || ok=0
  if [[ -n $out && $(snap "$out") != "$before" ]]; then ok=0; err+=$'\n'"(the command changed or left $out)"; fi
  if [[ $ok == 1 ]]; then
    good=$((good + 1))
  else
    echo "FAIL $id: $(sub "$cmd" 0)"
    echo "  want status $want_status: $want"
    echo "  got  status $status: $err"
  fi
done < "$HERE/bad_inputs/cases.tsv"

[[ -n ${PIFI_BAD_SHOW:-} ]] && exit 0
echo "$good of $n bad inputs gave the expected message and status"
[[ $good -eq $n && $n -gt 0 ]]
