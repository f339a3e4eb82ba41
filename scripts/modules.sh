#!/usr/bin/env bash
# Prints the directory of every Go module in the repository, however deep
# (every go.mod outside testdata/ and .git/), relative to the root and
# sorted, the root module (.) first. The Makefile tests, vets and lints
# each of them, and scripts/check-modules.sh holds go.work to this list.
set -euo pipefail
cd "$(dirname "$0")/.."
find . -name go.mod -not -path './.git/*' -not -path '*/testdata/*' |
	sed 's#/go\.mod$##; s#^\./##' | LC_ALL=C sort | awk '$0 == "." { print; next } { rest[++n] = $0 } END { for (i = 1; i <= n; i++) print rest[i] }'
