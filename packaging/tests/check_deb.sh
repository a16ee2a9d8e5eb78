#!/usr/bin/env bash
# ctest packaging.deb: builds the Debian package from a finished build directory with cpack
# (into a temporary directory) and checks its contents and control fields.
# Usage: check_deb.sh BUILD_DIR VERSION. Exit 77 (skipped) without dpkg-deb or cpack.
set -euo pipefail
build=$1 version=$2

for tool in dpkg-deb cpack; do
  if ! command -v "$tool" >/dev/null; then
    echo "SKIP: $tool not found (Debian: apt-get install dpkg cmake)"
    exit 77
  fi
done

out=$(mktemp -d "${TMPDIR:-/tmp}/tiermirror-deb.XXXXXX")
trap 'rm -rf "$out"' EXIT
if ! cpack -G DEB --config "$build/CPackConfig.cmake" -B "$out" >"$out/cpack.log" 2>&1; then
  cat "$out/cpack.log"
  echo "FAIL: cpack -G DEB failed"
  exit 1
fi
debs=("$out"/tiermirror_*.deb)
if [ ${#debs[@]} -ne 1 ] || [ ! -f "${debs[0]}" ]; then
  cat "$out/cpack.log"
  echo "FAIL: expected one tiermirror_*.deb in $out"
  exit 1
fi
deb=${debs[0]}
echo "built $(basename "$deb") ($(stat -c %s "$deb") bytes)"

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

contents=$(dpkg-deb -c "$deb")
# dpkg-deb -c lists "./usr/bin/tiermirror"; directories end in "/".
listed() { grep -Eq "[[:space:]]\.$1\$" <<<"$contents"; }
for path in /usr/bin/tiermirror /lib/systemd/system/tiermirror@.service /usr/lib/sysusers.d/tiermirror.conf \
            /usr/share/tiermirror/examples/tiermirror.example.yaml /usr/share/doc/tiermirror/README.md \
            /usr/share/doc/tiermirror/configuration.md /usr/share/doc/tiermirror/operations.md /etc/tiermirror/; do
  listed "$path" || fail "$path is not in the package"
done
grep -Eq '^-rwxr-xr-x[[:space:]]+root/root[[:space:]].*\./usr/bin/tiermirror$' <<<"$contents" ||
  fail "/usr/bin/tiermirror is not an executable owned by root"
# Nothing outside the expected trees (a stray install() rule would show up here).
stray=$(awk '{print $NF}' <<<"$contents" | grep -Ev '^\./($|usr/$|usr/(bin|lib|share)/|usr/bin/tiermirror$|usr/lib/sysusers\.d/|usr/share/(doc|tiermirror)/|lib/$|lib/systemd/|etc/$|etc/tiermirror/$)' || true)
[ -z "$stray" ] || fail "unexpected files in the package: $stray"

field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = tiermirror ] || fail "Package is '$(field Package)', not tiermirror"
[ "$(field Version)" = "$version" ] || fail "Version is '$(field Version)', not $version"
[ -n "$(field Maintainer)" ] || fail "no Maintainer"
[ -n "$(field Architecture)" ] || fail "no Architecture"
depends=$(field Depends)
echo "Depends: $depends"
for lib in libc6 librdkafka1 libsystemd0 libyaml-cpp0.7 libssl3; do
  grep -Eq "(^|, )$lib( |,|$)" <<<"$depends" || fail "Depends lacks $lib"
done
grep -Eq -- '-dev( |,|$)' <<<"$depends" && fail "Depends names a -dev package"

control=$(mktemp -d "$out/control.XXXXXX")
dpkg-deb -e "$deb" "$control"
for script in postinst prerm postrm; do
  [ -x "$control/$script" ] || fail "maintainer script $script missing or not executable"
done
grep -q tiermirror.conf "$control/postinst" || fail "postinst does not create the tiermirror user"

# The binary in the package runs (stripped, but the same build).
data=$(mktemp -d "$out/data.XXXXXX")
dpkg-deb -x "$deb" "$data"
"$data/usr/bin/tiermirror" version >/dev/null || fail "the packaged binary does not run"
if command -v file >/dev/null && file "$data/usr/bin/tiermirror" | grep -q 'with debug_info'; then
  fail "the packaged binary is not stripped"
fi

if [ $failures -ne 0 ]; then
  echo "$contents"
  exit 1
fi
echo "ok: $(basename "$deb")"
