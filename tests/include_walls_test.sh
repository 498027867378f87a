#!/usr/bin/env bash
# The walls between agent/ folders (DESIGN.md's arrows), checked: a file in
# one folder may include only the folders its row below allows, and each
# folder's CMake library links exactly the txmon_ libraries of the folders
# its files include, so the link lines say what the code does.
set -euo pipefail
root="${1:-$(cd "$(dirname "$0")/.." && pwd)}"

declare -A allowed=(
  [base]=""
  [source]="base"
  [decode]="base source"
  [store]="base"
  [map]="base decode store"
  [checkpoint]="base source store"
  [pipeline]="base checkpoint decode map source store"
  [promql]="base"
  [history]="base promql store"
  [notify]="base"
  [remote]="base promql"
  [rules]="base history notify promql store"
  [live]="base history promql rules store"
  [web]="base history live promql rules store"
  [config]="base decode map web"
  [demo]="base source"
  [main]="*"
)

failures=0
fail() {
  echo "include_walls_test: $*" >&2
  failures=$((failures + 1))
}

# The txmon_ libraries a folder's library links, from agent/CMakeLists.txt.
linked_folders() {
  local folder="$1"
  # txmon_stage_library(txmon_NAME FOLDER deps...): the deps after the folder.
  awk -v folder="$folder" '
    /^txmon_stage_library\(/ { collecting = ($2 == folder); line = "" ; if (collecting) { $1 = ""; $2 = "" } }
    collecting { line = line " " $0; if ($0 ~ /\)/) { print line; collecting = 0 } }
  ' "$root/agent/CMakeLists.txt" |
    { grep -o 'txmon_[a-z]*' || true; } | sed 's/^txmon_//' | sort -u | tr '\n' ' ' 
}

for dir in "$root"/agent/*/; do
  folder="$(basename "$dir")"
  [[ "$folder" == "assets" ]] && continue
  if [[ ! -v allowed[$folder] ]]; then
    fail "agent/$folder/ is not in the table of walls: add its row (and DESIGN.md's)"
    continue
  fi
  included=""
  while IFS=: read -r file target; do
    [[ "$target" == "$folder" ]] && continue
    included+="$target "
    if [[ "${allowed[$folder]}" != "*" && " ${allowed[$folder]} " != *" $target "* ]]; then
      fail "${file#"$root"/} includes agent/$target/, which agent/$folder/ may not"
    fi
  done < <(grep -Ho '#include "agent/[a-z_]*/' "$dir"*.h "$dir"*.cc 2>/dev/null |
    sed -E 's|^([^:]*):#include "agent/([a-z_]*)/$|\1:\2|')
  [[ "$folder" == "main" ]] && continue
  want="$(echo "$included" | tr ' ' '\n' | sed '/^$/d' | sort -u | tr '\n' ' ')"
  got="$(linked_folders "$folder")"
  if [[ "$want" != "$got" ]]; then
    fail "agent/CMakeLists.txt: txmon_$folder links [${got}] but its files include [${want}]"
  fi
done

if ((failures > 0)); then
  echo "include_walls_test: $failures wall(s) crossed" >&2
  exit 1
fi
echo "include_walls_test: every include and link line follows the walls"
