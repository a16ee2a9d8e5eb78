#!/usr/bin/env bash
# ctest packaging.container_refs: no container engine runs here, so check what can be
# checked of packaging/container/Containerfile without one:
#  - every COPY source from the build context exists in the repository;
#  - every package the runtime stage installs exists in Debian 12 (when apt-cache has
#    package lists; skipped with a note otherwise);
#  - the runtime stage runs as a non-root USER, with the ENTRYPOINT, VOLUME, EXPOSE and
#    HEALTHCHECK the docs describe.
# Usage: check_containerfile.sh SOURCE_DIR
set -euo pipefail
root=$1
file=$root/packaging/container/Containerfile

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# Joins continuation lines and drops comments: one instruction per line.
instructions=$(sed -e '/^[[:space:]]*#/d' "$file" | sed -e ':a' -e '/\\$/{N;s/\\\n/ /;ba}')
# The runtime stage: everything after the last FROM.
runtime=$(awk '/^FROM[[:space:]]/{buf=""} {buf=buf $0 "\n"} END{printf "%s", buf}' <<<"$instructions")

copies=0
while read -r line; do
  read -ra words <<<"${line#COPY }"
  [[ ${words[0]} == --from=* ]] && continue
  srcs=()
  for w in "${words[@]}"; do [[ $w == --* ]] || srcs+=("$w"); done
  unset 'srcs[${#srcs[@]}-1]'  # the destination
  for s in "${srcs[@]}"; do
    copies=$((copies + 1))
    [ -e "$root/$s" ] || fail "COPY source $s does not exist in the repository"
  done
done < <(grep -E '^COPY[[:space:]]' <<<"$instructions")
[ $copies -gt 0 ] || fail "found no COPY instruction"

# Packages of the runtime stage's apt-get install.
packages=$(grep -oE 'apt-get install [^&;|]*' <<<"$runtime" | sed 's/^apt-get install//' | tr ' ' '\n' |
           grep -Ev '^(-.*|)$' || true)
[ -n "$packages" ] || fail "the runtime stage installs no package"
if apt-cache show --no-all-versions libc6 >/dev/null 2>&1; then
  # One apt-cache call for all of them (each call reads the whole cache).
  # shellcheck disable=SC2086  # one word per package
  known=$(apt-cache show --no-all-versions $packages 2>/dev/null | sed -n 's/^Package: //p' | sort -u)
  for p in $packages; do
    grep -qxF "$p" <<<"$known" || fail "runtime package $p is not in Debian's package lists"
  done
else
  echo "note: apt-cache has no package lists (run apt-get update); runtime package names not checked"
fi
for p in librdkafka1 libsystemd0 libssl3; do
  grep -qxF "$p" <<<"$packages" || fail "the runtime stage does not install $p"
done

user=$(grep -E '^USER[[:space:]]' <<<"$runtime" | tail -n 1 | awk '{print $2}')
[ -n "$user" ] || fail "the runtime stage sets no USER (it would run as root)"
case "${user%%:*}" in
  "" | root | 0) fail "the runtime stage runs as root (USER $user)" ;;
esac
grep -qE '^FROM debian:12-slim' <<<"$runtime" || fail "the runtime stage is not debian:12-slim"
grep -qE '^FROM debian:12 AS build' <<<"$instructions" || fail "no debian:12 build stage"
grep -q 'cmake --workflow --preset release' <<<"$instructions" || fail "the build stage does not use the release workflow"
grep -qxF 'ENTRYPOINT ["/usr/bin/tiermirror"]' <<<"$runtime" || fail "ENTRYPOINT is not /usr/bin/tiermirror"
grep -qxF 'CMD ["run", "--config", "/etc/tiermirror/tiermirror.yaml"]' <<<"$runtime" || fail "CMD is not run --config /etc/tiermirror/tiermirror.yaml"
grep -qE '^VOLUME .*/etc/tiermirror' <<<"$runtime" || fail "no VOLUME /etc/tiermirror"
grep -qE '^EXPOSE 9644$' <<<"$runtime" || fail "no EXPOSE 9644"
grep -qE '^HEALTHCHECK .*/healthz' <<<"$runtime" || fail "no HEALTHCHECK on /healthz"
grep -q 'curl' <<<"$(grep -E '^HEALTHCHECK' <<<"$runtime")" && ! grep -qxF curl <<<"$packages" &&
  fail "the HEALTHCHECK uses curl, which the runtime stage does not install"

[ $failures -eq 0 ] || exit 1
echo "ok: $copies COPY sources exist, $(wc -w <<<"$packages") runtime packages known, USER $user"
