#!/usr/bin/env bash
# Runs every fuzz target of every package in the main module for $1 each
# (default 30s). Go runs one fuzz target per invocation.
set -euo pipefail
fuzztime=${1:-30s}
for pkg in $(go list ./...); do
	for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		echo "fuzz: $pkg $target ($fuzztime)"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"
	done
done
