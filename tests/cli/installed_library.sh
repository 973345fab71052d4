#!/usr/bin/env bash
# installed_library.sh: `cmake --install` into a fresh prefix gives what an
# embedding program needs, and nothing of pifi's insides: libpifi.so with
# its versioned soname exporting exactly pifi.h's PIFI_API functions,
# libpifi.a, pifi.h, a relocatable pifi.pc and the command line.
# examples/classify_stdin.c, copied out of the tree, builds against the
# prefix with `pkg-config --cflags --libs pifi` alone (shared, and static
# with --static), and classifies texts exactly as the installed `pifi
# predict` does on a run that installed `pifi train` wrote.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
BUILD=${PIFI_BUILD_DIR:?} SRC=${PIFI_SOURCE_DIR:?}
if [[ -n ${PIFI_SANITIZED:-} ]]; then # an instrumented library links only into instrumented programs
  echo "SKIPPED: the sanitizer build is not installed (the plain suite runs this test)"; exit 77
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
P=$T/prefix

cmake --install "$BUILD" --prefix "$P" > "$T/install.log" 2>&1
ok '[[ $? -eq 0 ]]'
pc=$(find "$P" -name pifi.pc)
libdir=$(dirname "$(dirname "$pc")")
version=$(sed -nE 's/^#define PIFI_VERSION "([0-9.]+)"$/\1/p' "$SRC/include/pifi.h")
ok '[[ -f $P/include/pifi.h && -x $P/bin/pifi && -f $libdir/libpifi.a ]]'
ok '[[ -f $libdir/libpifi.so.$version && -L $libdir/libpifi.so.0 && -L $libdir/libpifi.so ]]'
ok '[[ $(objdump -p "$libdir/libpifi.so.$version" | awk "/SONAME/ {print \$2}") == libpifi.so.${version%%.*} ]]'
# the exports are pifi.h's PIFI_API functions, no more, no fewer
sed -nE 's/^PIFI_API [^(]*[ *](pifi_[a-z0-9_]+)\(.*/\1/p' "$P/include/pifi.h" | sort > "$T/api.txt"
nm -D --defined-only "$libdir/libpifi.so" | awk '{print $3}' | sort > "$T/exports.txt"
ok '[[ $(wc -l < $T/api.txt) -ge 50 ]] && diff $T/api.txt $T/exports.txt'
export PKG_CONFIG_PATH=$libdir/pkgconfig
ok '[[ $(pkg-config --modversion pifi) == "$version" ]]'

# the example, away from the source tree, against the prefix alone
cp "$SRC/examples/classify_stdin.c" "$T/"
cc -std=c11 -Wall -Wextra -Werror "$T/classify_stdin.c" $(pkg-config --cflags --libs pifi) \
  -Wl,-rpath,"$libdir" -o "$T/classify" 2> "$T/cc.err"
ok '[[ $? -eq 0 ]] && ldd $T/classify | grep -q "libpifi.so.0 => $libdir/"'
cc -std=c11 -Wall -Wextra -Werror "$T/classify_stdin.c" $(pkg-config --cflags pifi) "$libdir/libpifi.a" \
  $(pkg-config --static --libs pifi | sed -E 's/(^| )-lpifi( |$)/ /') -o "$T/classify_static" 2> "$T/cc_static.err"
ok '[[ $? -eq 0 ]] && ! ldd $T/classify_static | grep -q libpifi'

# a run from the installed command line, classified three ways
tsv "$DATA/sst2/stsa.binary.train" 64 > "$T/train.tsv"
"$P/bin/pifi" train --slm "$slm" --method base --train "$T/train.tsv" --epochs 1 --batch 16 \
  --precision fp32 -o "$T/run" > /dev/null 2> "$T/train.err"
ok '[[ $? -eq 0 ]]'
awk 'NR > 200 && NR <= 240 { $1 = ""; sub(/^ /, ""); print }' "$DATA/sst2/stsa.binary.train" > "$T/texts.txt"
printf '\n' >> "$T/texts.txt" # an empty line too
"$T/classify" "$T/run" < "$T/texts.txt" > "$T/shared.tsv" 2> "$T/shared.err"
ok '[[ $? -eq 0 && $(wc -l < $T/shared.tsv) -eq 41 ]]'
"$T/classify_static" "$T/run" < "$T/texts.txt" > "$T/static.tsv"
ok '[[ $? -eq 0 ]] && cmp -s $T/shared.tsv $T/static.tsv'
"$P/bin/pifi" predict "$T/run" --input "$T/texts.txt" > "$T/cli.jsonl" 2> "$T/cli.err"
ok '[[ $? -eq 0 && $(wc -l < $T/cli.jsonl) -eq 41 ]]'
# pifi predict's label and its probability, as classify_stdin prints them
sed -E 's/.*"label":"([^"]*)".*/\1/' "$T/cli.jsonl" > "$T/cli_labels.txt"
cut -f1 "$T/shared.tsv" > "$T/ex_labels.txt"
ok 'cmp -s $T/cli_labels.txt $T/ex_labels.txt'
paste "$T/cli_labels.txt" "$T/cli.jsonl" | while IFS=$'\t' read -r l j; do
  p=$(sed -E "s/.*\"probs\":\\{[^}]*\"$l\":([-0-9.e]+).*/\\1/" <<< "$j"); printf '%s\t%.6f\n' "$l" "$p"; done > "$T/cli.tsv"
ok 'cmp -s $T/cli.tsv $T/shared.tsv || diff $T/cli.tsv $T/shared.tsv | head -5'
"$T/classify" "$T/nonexistent" < /dev/null 2> "$T/bad.err"
ok '[[ $? -eq 2 ]] && [[ $(wc -l < $T/bad.err) -eq 1 ]] && grep -q "^classify_stdin: .*nonexistent" $T/bad.err'
echo "installed: $libdir/libpifi.so.$version, $(wc -l < "$T/exports.txt") exported functions"
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
