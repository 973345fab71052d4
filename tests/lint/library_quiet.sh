#!/usr/bin/env bash
# library_quiet.sh: the library (src/ outside src/cli/, the
# command line's) never prints and
# never exits (docs/ARCHITECTURE.md): what it has to say goes through its
# caller's callbacks (core/log.h, train_run.h's TrainCallbacks) or an error
# (PifiErr). Fails listing every line that prints to stdout/stderr or ends
# the process. Writing a FILE the library opened (a log, results.md) is fine.
#
#   bash tests/lint/library_quiet.sh [SRC_DIR]     # default: src/ beside this script
#
# Allowed, and only this: the abort() of pifi_bug (core/err.c), a broken
# internal invariant (a bug in pifi), whose message goes to the handler the
# CLI installs. The signal handling and the experiment cells' processes are
# the command line's (src/cli/stopsig.c, src/cli/cells.c).
set -euo pipefail
SRC=${1:-$(cd "$(dirname "$0")/../../src" && pwd)}
[[ -d $SRC/train && -d $SRC/cli ]] || { echo "library_quiet.sh: $SRC is not pifi's src/" >&2; exit 2; }

# file|text on the line: still there on purpose
ALLOWED=(
  'core/err.c|abort(); /* a bug in pifi'
)

# printing to stdout/stderr, or ending the process
BAD='(^|[^A-Za-z0-9_])(printf|vprintf|puts|putchar|perror|exit|_exit|_Exit|quick_exit|err|errx|warn|warnx)[[:space:]]*\('
BAD+='|(^|[^A-Za-z0-9_])(fprintf|vfprintf|dprintf|vdprintf|fputs|fputc|putc|fwrite|fflush)[[:space:]]*\([^;]*(stderr|stdout|STDERR_FILENO|STDOUT_FILENO)'
BAD+='|(^|[^A-Za-z0-9_])write[[:space:]]*\([[:space:]]*(STDERR_FILENO|STDOUT_FILENO|1|2)[[:space:]]*,'

allowed() { # file text
  local a
  for a in "${ALLOWED[@]}"; do
    [[ $1 == "${a%%|*}" && $2 == *"${a#*|}"* ]] && return 0
  done
  return 1
}

fail=0
while IFS= read -r -d '' f; do
  rel=${f#"$SRC"/}
  # every line that prints, exits or aborts (of the aborts, only pifi_bug's is allowed)
  out=$(awk -v bad="$BAD" '
    /\/\*/ && !/\*\// { inc = 1 }
    { line = $0 }
    inc { if (line ~ /\*\//) inc = 0; next }
    { sub(/\/\/.*$/, "", line); gsub(/\/\*.*\*\//, "", line) }
    line ~ /(^|[^A-Za-z0-9_])abort[[:space:]]*\(/ { print NR ": " $0; next }
    line ~ bad { print NR ": " $0 }
  ' "$f")
  [[ -z $out ]] && continue
  while IFS= read -r l; do
    allowed "$rel" "${l#*: }" && continue
    echo "$rel:$l"
    fail=1
  done <<< "$out"
done < <(find "$SRC" -path "$SRC/cli" -prune -o -type f \( -name '*.c' -o -name '*.h' \) -print0 | sort -z)
if ((fail)); then
  echo "library_quiet.sh: the library prints or exits above: report through the caller's callbacks or return a PifiErr" >&2
  exit 1
fi
echo "library_quiet.sh: the library neither prints nor exits"
