#!/usr/bin/env bash
# api_boundary.sh ROOT: the public API's boundary holds.
#   - include/ holds one header, pifi.h, and it includes only the C library's
#     headers (<...>): a program embedding pifi needs nothing else;
#   - no file of the library (src/ outside src/cli/, the command line's,
#     serve/ included) includes a header of the command line
#     ("cli/...");
#   - every example (examples/*.c) includes pifi.h and otherwise only the C
#     library's headers: it builds against the public header alone.
# Lists every line that breaks a rule and exits 1; exits 0 when all hold.
set -u
root=${1:?usage: api_boundary.sh ROOT}
bad=0
say() { echo "api_boundary: $*"; bad=1; }
others=$(cd "$root/include" && find . -type f ! -name pifi.h | sed 's|^\./||')
[[ -n $others ]] && say "include/ holds more than pifi.h: $others"
while IFS= read -r line; do say "include/pifi.h: $line"; done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$root/include/pifi.h")
while IFS= read -r line; do say "$line"; done < <(grep -rn --include='*.c' --include='*.h' -E '^[[:space:]]*#[[:space:]]*include[[:space:]]*"(cli|serve)/' "$root/src" | grep -v -e "^$root/src/cli/")
for f in "$root"/examples/*.c; do
  grep -q '^#include "pifi.h"' "$f" || say "$f: does not include \"pifi.h\""
  while IFS= read -r line; do say "$f:$line"; done < <(grep -n -E '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" | grep -v '"pifi.h"')
done
if [[ $bad -eq 0 ]]; then echo "api_boundary: include/ is pifi.h alone; the library includes no CLI header; the examples use pifi.h alone"; fi
exit $bad
