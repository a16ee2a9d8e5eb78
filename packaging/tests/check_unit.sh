#!/usr/bin/env bash
# ctest packaging.systemd_unit: systemd-analyze verify accepts tiermirror@.service (as an
# instance, with ExecStart pointing at the built binary since /usr/bin/tiermirror may not
# exist here) and prints no warning; the sysusers.d file parses; the unit keeps the
# settings docs/operations.md promises. Usage: check_unit.sh PACKAGING_SYSTEMD_DIR BINARY.
# Exit 77 (skipped) without systemd-analyze.
set -euo pipefail
src=$(cd "$1" && pwd) binary=$2
unit=$src/tiermirror@.service

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# shellcheck disable=SC2016  # $MAINPID is systemd's, not the shell's
for setting in Type=notify NotifyAccess=main 'ExecStart=/usr/bin/tiermirror run --config /etc/tiermirror/%i.yaml' \
               'ExecReload=/bin/kill -HUP $MAINPID' Restart=on-failure KillSignal=SIGTERM User=tiermirror \
               Group=tiermirror NoNewPrivileges=yes ProtectSystem=strict 'CapabilityBoundingSet=' \
               ReadOnlyPaths=/etc/tiermirror SystemCallFilter=@system-service; do
  grep -qxF -- "$setting" "$unit" || fail "$unit lacks the line: $setting"
done
stop=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)s$/\1/p' "$unit")
if [ -z "$stop" ] || [ "$stop" -le 10 ]; then
  fail "TimeoutStopSec must be given in seconds and exceed the route's 10 s graceful stop"
fi
grep -q '^WatchdogSec=' "$unit" || fail "no WatchdogSec"

if ! command -v systemd-analyze >/dev/null; then
  [ $failures -eq 0 ] || exit 1
  echo "SKIP: systemd-analyze not found (Debian: apt-get install systemd); static checks passed"
  exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/tiermirror-unit.XXXXXX")
trap 'rm -rf "$work"' EXIT
# The template and an instance of it, as systemd would load them.
sed "s#^ExecStart=/usr/bin/tiermirror #ExecStart=$binary #" "$unit" >"$work/tiermirror@.service"
cp "$work/tiermirror@.service" "$work/tiermirror@dca-to-aggregate.service"
for u in "$work/tiermirror@.service" "$work/tiermirror@dca-to-aggregate.service"; do
  if ! output=$(cd "$work" && systemd-analyze verify --man=no "$u" 2>&1); then
    fail "systemd-analyze verify $(basename "$u") failed: $output"
  elif [ -n "$output" ]; then
    fail "systemd-analyze verify $(basename "$u") warns: $output"
  fi
done

if command -v systemd-sysusers >/dev/null; then
  mkdir -p "$work/root/etc"
  if ! output=$(systemd-sysusers --root="$work/root" --dry-run "$src/tiermirror.sysusers.conf" 2>&1); then
    fail "systemd-sysusers rejects tiermirror.sysusers.conf: $output"
  elif grep -qi -e warning -e 'failed' <<<"$output"; then
    fail "systemd-sysusers warns about tiermirror.sysusers.conf: $output"
  fi
fi

[ $failures -eq 0 ] || exit 1
echo "ok: systemd-analyze verify accepts tiermirror@.service"
