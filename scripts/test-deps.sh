#!/usr/bin/env bash
# Installs the system packages the test suite needs when they are missing:
# redis-server for the Redis store's tests, postgresql for the PostgreSQL
# store's (the tests run initdb and postgres from /usr/lib/postgresql/*/bin
# themselves; no system cluster is used), and chromium for the browser
# tests (cmd/sessionguard/internal/e2e and the auditor's --browser
# sign-in). With CI set, a package that cannot be installed is an error;
# elsewhere it is a warning and the tests that need it skip.
set -u
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || need+=(postgresql)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0

echo "test-deps: installing ${need[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && sudo="sudo"
if command -v apt-get >/dev/null 2>&1 &&
	$sudo apt-get update -qq >/dev/null &&
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; then
	exit 0
fi
if [ -n "${CI:-}" ]; then
	echo "test-deps: error: could not install ${need[*]}; CI must not skip these tests" >&2
	exit 1
fi
echo "test-deps: warning: could not install ${need[*]}; the tests that need them will skip" >&2
exit 0
