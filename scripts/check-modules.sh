#!/usr/bin/env bash
# Fails when the modules of the repository (every go.mod, as
# scripts/modules.sh finds them) and the modules go.work uses differ: a
# module missing from go.work would be left out of the workspace (and a
# go.work entry without a go.mod is a typo). make test runs every module
# scripts/modules.sh lists, so a module in the tree is always tested.
# Also checks that every module other than the core requires the core or
# another module of the repository through a replace directive, so that
# GOWORK=off works inside it (see the README's "Working across the
# modules"), and that every go.mod and go.sum is tidy.
set -euo pipefail
cd "$(dirname "$0")/.."
tree=$(./scripts/modules.sh)
work=$(go work edit -json | sed -n 's/.*"DiskPath": "\(.*\)".*/\1/p' | sed 's#^\./##; s#^$#.#' | LC_ALL=C sort)
tree_sorted=$(echo "$tree" | LC_ALL=C sort)
status=0
if ! missing=$(comm -23 <(echo "$tree_sorted") <(echo "$work")) || [ -n "$missing" ]; then
	for m in $missing; do echo "check-modules: $m/go.mod is not in go.work; add it: go work use ./$m" >&2; done
	status=1
fi
if ! extra=$(comm -13 <(echo "$tree_sorted") <(echo "$work")) || [ -n "$extra" ]; then
	for m in $extra; do echo "check-modules: go.work uses $m, which has no go.mod" >&2; done
	status=1
fi
# Every in-repo requirement has a replace directive in the same go.mod.
for m in $tree; do
	reqs=$(cd "$m" && go mod edit -json | sed -n 's/.*"Path": "\(github.com\/sessionguard\/sessionguard[^"]*\)".*/\1/p' | LC_ALL=C sort -u)
	mod=$(cd "$m" && go mod edit -json | sed -n '/"Module"/,/}/s/.*"Path": "\(.*\)".*/\1/p' | head -1)
	for r in $reqs; do
		[ "$r" = "$mod" ] && continue
		if ! (cd "$m" && go mod edit -json) | grep -A3 '"Old"' | grep -q "\"Path\": \"$r\""; then
			echo "check-modules: $m/go.mod requires $r without a replace directive to its directory" >&2
			status=1
		fi
	done
done
# Tidy: go.mod and go.sum say exactly what each module needs.
for m in $tree; do
	if ! out=$(cd "$m" && GOWORK=off go mod tidy -diff 2>&1); then
		echo "check-modules: $m/go.mod or go.sum is not tidy; run (cd $m && GOWORK=off go mod tidy):" >&2
		echo "$out" >&2
		status=1
	fi
done
[ $status -eq 0 ] && echo "check-modules: $(echo "$tree" | wc -l) modules, all in go.work" >&2
exit $status
