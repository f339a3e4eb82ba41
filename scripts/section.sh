#!/usr/bin/env bash
# section.sh FILE NAME < CONTENT: replaces the text between
# <!-- NAME:start --> and <!-- NAME:end --> in FILE with standard input,
# appending the section when the markers are missing. Lets make bench and
# make load each regenerate their own part of docs/BENCHMARKS.md.
set -euo pipefail
file=$1 name=$2
content=$(cat)
start="<!-- $name:start -->" end="<!-- $name:end -->"
touch "$file"
if grep -qF "$start" "$file"; then
	awk -v s="$start" -v e="$end" -v c="$content" '
		$0 == s { print; print c; skip = 1; next }
		$0 == e { skip = 0 }
		!skip { print }' "$file" > "$file.tmp"
	mv "$file.tmp" "$file"
else
	printf '%s\n%s\n%s\n' "$start" "$content" "$end" >> "$file"
fi
