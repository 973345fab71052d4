#!/usr/bin/env bash
# architecture_doc.sh ROOT: docs/ARCHITECTURE.md names every source file.
# A file under src/, include/ or examples/ is covered when its name appears
# in the document (as `name` or `dir/name`), when it lies in a folder of one
# kind the document describes as a whole (FOLDERS below), or, for a header,
# when a .c file of the same stem sits beside it (a header declares its .c's
# functions).
# Lists the files it leaves out and exits 1; exits 0 when none is.
set -u
root=${1:?usage: architecture_doc.sh ROOT}
doc=$root/docs/ARCHITECTURE.md
missing=0
FOLDERS=(src/kernels/simd) # one file per kernel family, compiled per instruction-set level
while IFS= read -r f; do
  rel=${f#"$root"/}
  base=$(basename "$rel")
  dir=$(dirname "$rel")
  grep -qF "\`$base\`" "$doc" && continue
  grep -qF "/$base\`" "$doc" && continue
  covered=0
  for d in "${FOLDERS[@]}"; do [[ $dir == "$d" ]] && grep -qF "\`$d/\`" "$doc" && covered=1; done
  ((covered)) && continue
  if [[ $base == *.h && -f $root/$dir/${base%.h}.c ]]; then continue; fi
  if [[ $base == *.h ]] && grep -qF "\`${base%.h}.c\` + \`.h\`" "$doc"; then continue; fi
  echo "architecture_doc: $rel is not named in docs/ARCHITECTURE.md"
  missing=1
done < <(find "$root/src" "$root/include" "$root/examples" -type f \( -name '*.c' -o -name '*.h' -o -name CMakeLists.txt \) | sort)
[[ $missing -eq 0 ]] && echo "architecture_doc: every file of src/, include/ and examples/ is named"
exit $missing
