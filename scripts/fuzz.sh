#!/usr/bin/env bash
# Runs every fuzz target of every package of every module of the
# repository (scripts/modules.sh) with the budget $1 (default 20000x: an
# execution count, so that a slow machine runs the same inputs as a fast
# one, rather than fewer). Go runs one fuzz target per invocation; packages
# whose test files declare no Fuzz function are not compiled for it.
#
# A target fails the run only when the fuzzer wrote a reproducer (a new file
# under the package's testdata/fuzz/<target>/): the Go 1.26 fuzzing
# coordinator can end a run with a bare "context deadline exceeded" and no
# failing input (golang/go#75804), which says nothing about the code under
# test. Such a run is reported and retried once.
set -uo pipefail
cd "$(dirname "$0")/.."
budget=${1:-20000x}
status=0
export GOWORK=off # each module as its users build it, as make test runs it
root=$PWD
for mod in $(./scripts/modules.sh); do
	cd "$root/$mod" || exit 1
	for pkg in $(go list ./...); do
		dir=$(go list -f '{{.Dir}}' "$pkg")
		grep -qs '^func Fuzz' "$dir"/*_test.go || continue
		for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
			corpus="$dir/testdata/fuzz/$target"
			for attempt in 1 2; do
				before=$(ls "$corpus" 2>/dev/null | sort)
				echo "fuzz: $pkg $target ($budget)"
				if out=$(go test -run '^$' -fuzz "^${target}\$" -fuzztime "$budget" "$pkg" 2>&1); then
					break
				fi
				after=$(ls "$corpus" 2>/dev/null | sort)
				if [ "$before" != "$after" ]; then
					echo "$out"
					echo "fuzz: $target FAILED; the reproducer is in $corpus:" >&2
					comm -13 <(echo "$before") <(echo "$after") >&2
					status=1
					break
				fi
				echo "$out" | tail -5
				echo "fuzz: $target stopped without a reproducer (fuzzing engine error); attempt $attempt" >&2
			done
		done
	done
done
exit $status
