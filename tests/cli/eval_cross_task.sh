#!/usr/bin/env bash
# eval_cross_task.sh: `pifi eval RUN --task T` matches T's classes to the
# run's by NAME (issue 19), with the real MiniLM on small data cut from SST-2
# and CR:
#   - a run trained on a file whose first row is "positive" (so its class 0
#     is positive, CR's is negative) gives on --task cr exactly the confusion
#     matrix of `pifi eval --data` on the same CR examples as a file (summed
#     over CR's three splits, batch 1 so that every example is computed alone);
#   - classes named in another case match with a note; a run whose classes are
#     the integers 0..K-1 matches by index with a note (stderr, "label_note" in
#     --json); classes that match no rule: one error line naming both lists;
#   - the header and the JSON name the task (or file) and the split, and the
#     progress goes to stderr;
#   - --task without --data-dir or PIFI_DATA finds the task in the data root
#     the run recorded, else says where it looked.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
if [[ ! -f $DATA/cr/custrev.all ]]; then echo "SKIPPED: needs $DATA/cr"; exit 77; fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# a small data root: 70 lines of CR (25 negative, 45 positive) and a small SST-2
mkdir -p "$T/data/cr" "$T/data/sst2" "$T/home"
awk 'NF > 1 && (($1 == 0 && n0++ < 25) || ($1 == 1 && n1++ < 45))' "$DATA/cr/custrev.all" > "$T/data/cr/custrev.all"
head -n 64 "$DATA/sst2/stsa.binary.train" > "$T/data/sst2/stsa.binary.train"
head -n 16 "$DATA/sst2/stsa.binary.dev" > "$T/data/sst2/stsa.binary.dev"
head -n 16 "$DATA/sst2/stsa.binary.test" > "$T/data/sst2/stsa.binary.test"
# "LABEL text" lines -> a TSV with label names $2 (0) and $3 (1)
named() { printf 'text\tlabel\n'; awk -v a="$2" -v b="$3" '{ l = $1 ? b : a; $1 = ""; sub(/^ /, ""); print $0 "\t" l }' "$1"; }
# the same, the first row a class-1 one (so that class is the run's class 0)
first1() { named "$@" | awk -F '\t' 'NR == 1 { print; next } { row[NR] = $0; if (!p && $2 == B) p = NR }
  END { print row[p]; for (i = 2; i <= NR; i++) if (i != p) print row[i] }' B="$3"; }
named "$T/data/cr/custrev.all" negative positive > "$T/cr.tsv"
first1 <(head -n 64 "$DATA/sst2/stsa.binary.train") negative positive > "$T/train.tsv"
first1 <(head -n 16 "$DATA/sst2/stsa.binary.dev") negative positive > "$T/valid.tsv"
small=(--slm "$slm" --method base --batch 8 --max-len 32 --max-steps 2)

"$PIFI" train "${small[@]}" --train "$T/train.tsv" --valid "$T/valid.tsv" -o "$T/run" > /dev/null 2> "$T/run.err"
ok '[[ $? -eq 0 ]] && grep -Eq "\"label_names\":[[:space:]]*\[\"positive\", \"negative\"\]" $T/run/config.json'

# 1. the confusion matrix on --task cr (train + valid + test) is the file's
conf() { sed -n 's/.*"confusion":\[\[\([0-9]*\),\([0-9]*\)\],\[\([0-9]*\),\([0-9]*\)\]\].*/\1 \2 \3 \4/p' "$1"; }
"$PIFI" eval "$T/run" --data "$T/cr.tsv" --batch 1 --json > "$T/file.json" 2> /dev/null
ok '[[ $? -eq 0 ]]'
read -r f00 f01 f10 f11 <<< "$(conf "$T/file.json")"
s00=0 s01=0 s10=0 s11=0
for s in train valid test; do
  "$PIFI" eval "$T/run" --task cr --data-dir "$T/data" --split $s --batch 1 --json > "$T/cr_$s.json" 2> "$T/cr_$s.err"
  ok '[[ $? -eq 0 ]]'
  read -r a b c d <<< "$(conf "$T/cr_$s.json")"
  s00=$((s00 + a)) s01=$((s01 + b)) s10=$((s10 + c)) s11=$((s11 + d))
done
echo "file: $f00 $f01 / $f10 $f11; --task cr, 3 splits summed: $s00 $s01 / $s10 $s11"
ok '[[ -n $f00 && "$f00 $f01 $f10 $f11" == "$s00 $s01 $s10 $s11" ]]'
ok '[[ $((f00 + f01)) -eq 45 && $((f10 + f11)) -eq 25 ]]'   # row 0 is the run's class 0: positive
ok 'grep -q "\"label\":\"positive\",[^}]*\"support\":45}" $T/file.json'
# `pifi train --eval-task cr` on the same data: accepted (classes matched by
# name) and its numbers are `pifi eval --task cr`'s
"$PIFI" train "${small[@]}" --train "$T/train.tsv" --valid "$T/valid.tsv" --data-dir "$T/data" --eval-task cr \
  -o "$T/run_ev" > /dev/null 2> "$T/run_ev.err"
ok '[[ $? -eq 0 ]]'
"$PIFI" eval "$T/run_ev" --task cr --data-dir "$T/data" --json > "$T/run_ev_cr.json" 2> /dev/null
ok '[[ -n $(jq .eval_tasks.cr.accuracy $T/run_ev/metrics.json) && $(jq .eval_tasks.cr.accuracy $T/run_ev/metrics.json) == $(jq .accuracy $T/run_ev_cr.json) ]]'
# the same order of classes: no note
ok '! grep -q "label_note" $T/cr_test.json && ! grep -q "note" $T/cr_test.err'
# the task and split are named, and progress went to stderr
ok 'grep -q "\"task\":\"cr\",\"data\":null,\"split\":\"test\"" $T/cr_test.json'
ok 'grep -q "\"task\":null,\"data\":\"[^\"]*cr.tsv\"" $T/file.json'
ok 'grep -q "^pifi: eval cr test step " $T/cr_test.err'
"$PIFI" eval "$T/run" --task cr --data-dir "$T/data" > "$T/cr.txt" 2> /dev/null
ok '[[ $? -eq 0 ]] && head -n 1 $T/cr.txt | grep -q "on task cr, test split (8 examples)"'

# 2. the classes in another case: matched, with a note; integers: by index, with a note
variant() { # a copy of the run whose classes are named $2 and $3
  cp -al "$T/run" "$T/$1" && rm "$T/$1/config.json" &&
    sed "s/\"label_names\":\t\[\"positive\", \"negative\"\]/\"label_names\":\t[\"$2\", \"$3\"]/" "$T/run/config.json" > "$T/$1/config.json"
}
variant case Positive Negative
"$PIFI" eval "$T/case" --task cr --data-dir "$T/data" --json > "$T/case.json" 2> "$T/case.err"
ok '[[ $? -eq 0 ]] && grep -q "^pifi: eval: note: .*ignoring case: negative = Negative, positive = Positive" $T/case.err'
ok 'grep -q "\"label_note\":\"cr.s classes matched to the run.s by name ignoring case" $T/case.json'
ok '[[ $(conf $T/case.json) == $(conf $T/cr_test.json) ]]'
variant ints 0 1
"$PIFI" eval "$T/ints" --task cr --data-dir "$T/data" --json > "$T/ints.json" 2> "$T/ints.err"
ok '[[ $? -eq 0 ]] && grep -q "^pifi: eval: note: the run.s classes are the integers 0..1 .*matched by index: negative = 0, positive = 1" $T/ints.err'
ok 'grep -q "\"label_note\":\"the run.s classes are the integers" $T/ints.json'
"$PIFI" eval "$T/ints" --task cr --data-dir "$T/data" > "$T/ints.txt" 2> /dev/null
ok 'grep -q "^note: the run.s classes are the integers" $T/ints.txt'
# classes no rule can pair: one line naming both lists, exit 2
variant other good bad
"$PIFI" eval "$T/other" --task cr --data-dir "$T/data" > /dev/null 2> "$T/other.err"
ok '[[ $? -eq 2 && $(grep -c "^pifi:" $T/other.err) -eq 1 ]]'
ok 'grep -q "cr: its classes (negative, positive) cannot be matched by name to the run.s (good, bad)" $T/other.err'

# 3. --task without --data-dir or PIFI_DATA: the data root the run recorded
"$PIFI" train "${small[@]}" --task sst2 --data-dir "$T/data" -o "$T/sst2" > /dev/null 2>&1
ok '[[ $? -eq 0 ]]'
nodata=(env -u PIFI_DATA -u XDG_CACHE_HOME HOME="$T/home")
"${nodata[@]}" "$PIFI" eval "$T/sst2" --task cr > "$T/fb.txt" 2> "$T/fb.err"
ok '[[ $? -eq 0 ]] && grep -q "on task cr, test split (8 examples)" $T/fb.txt'
"${nodata[@]}" "$PIFI" eval "$T/sst2" --task mr > /dev/null 2> "$T/fb2.err"
ok '[[ $? -eq 2 && $(grep -c "^pifi:" $T/fb2.err) -eq 1 ]]'
ok 'grep -q "mr: no folder mr/ in the run.s data root $T/data nor in the default $T/home/.cache/pifi/data" $T/fb2.err'
# PIFI_DATA still comes first (here without cr: the error names it)
PIFI_DATA="$T/home" "$PIFI" eval "$T/sst2" --task cr > /dev/null 2> "$T/fb3.err"
ok '[[ $? -eq 2 ]] && grep -q "no folder $T/home/cr" $T/fb3.err'

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
