#!/usr/bin/env bash
# Builds Crunchy Data's official Crunchy Bridge client `cb` (a real client of the simulator's
# Bridge API, run by tests/official_cb.rs) into $BRIDGEREST_TEST_TOOLS/cb/bin/cb. Idempotent: a
# second run with the same version there does nothing.
#
# cb is Crystal. Debian 12 has the compiler (crystal 1.6.0; cb 3.6.4 asks for 1.4 or later) but
# no `shards`, so this script does what `shards install` does for a locked project: each
# dependency in cb's shard.lock (less the test-only `spectator`) is laid out at its locked
# version under lib/<name>. Sources come from git mirrors under $BRIDGEREST_GIT_MIRRORS
# (default /work/.mirror, one <owner>+<repo>/repo bare git dir each) when there, else from
# GitHub (`git clone --depth 1 --branch <tag>`). Exit 3: neither is reachable (the machines of
# this project's CI have no route to GitHub), so cb is not built; any other failure is 1.
set -euo pipefail
tools="${BRIDGEREST_TEST_TOOLS:-/opt/bridgerest-test-tools}"
mirrors="${BRIDGEREST_GIT_MIRRORS:-/work/.mirror}"
version=3.6.4
dest="$tools/cb"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if [ -x "$dest/bin/cb" ] && "$dest/bin/cb" version 2>/dev/null | grep -q "^cb v$version"; then
  echo "cb: $("$dest/bin/cb" version) (already built)"
  exit 0
fi

# Out of reach (no mirror, no route to GitHub): said, exit 3, and nothing installed for it.
if [ -z "$(find "$mirrors" -maxdepth 1 -iname 'CrunchyData+bridge-cli' -print -quit 2>/dev/null || true)" ] &&
  ! timeout 20 git ls-remote -q https://github.com/CrunchyData/bridge-cli.git "refs/tags/v$version" >/dev/null 2>&1; then
  echo "cb: cannot get CrunchyData/bridge-cli v$version: no git mirror of it under $mirrors (BRIDGEREST_GIT_MIRRORS) and no route to GitHub" >&2
  exit 3
fi

need_apt=()
command -v crystal >/dev/null || need_apt+=(crystal)
command -v git >/dev/null || need_apt+=(git)
# What cb and its dependencies link: OpenSSL, libssh2 (ssh2.cr), zlib, libyaml, libxml2, gmp.
for dev in libssl-dev libssh2-1-dev zlib1g-dev libyaml-dev libxml2-dev libgmp-dev; do
  dpkg-query -W -f='${Status}' "$dev" 2>/dev/null | grep -q 'install ok installed' || need_apt+=("$dev")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "cb: apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# fetch OWNER/REPO TAG DIR: the tree of TAG into DIR, from the mirror when there is one.
fetch() {
  local repo=$1 tag=$2 into=$3 mirror
  # GitHub names are case-insensitive (shard.lock says sija/, the mirror may say Sija+).
  mirror="$(find "$mirrors" -maxdepth 1 -iname "${repo/\//+}" -print -quit 2>/dev/null || true)/repo"
  mkdir -p "$into"
  if [ -d "$mirror" ] && git --git-dir="$mirror" rev-parse -q --verify "refs/tags/$tag^{commit}" >/dev/null; then
    git --git-dir="$mirror" archive "$tag" | tar -x -C "$into"
  else
    if ! git -c advice.detachedHead=false clone -q --depth 1 --branch "$tag" "https://github.com/$repo.git" "$into"; then
      echo "cb: cannot get $repo $tag: no git mirror of it under $mirrors (BRIDGEREST_GIT_MIRRORS) and no clone from GitHub" >&2
      # 3: the sources are out of reach (not a failed build): .ci/run goes on without cb.
      exit 3
    fi
    rm -rf "$into/.git"
  fi
}

src="$work/bridge-cli"
fetch CrunchyData/bridge-cli "v$version" "$src"

# shard.lock: "  <name>:" then "    git: https://<host>/<owner>/<repo>.git" and "    version: <v>".
awk '/^  [a-z_0-9]+:$/ { name = substr($1, 1, length($1) - 1) }
     /^    git: / { git = $2 }
     /^    version: / { print name, git, $2 }' "$src/shard.lock" >"$work/deps"
[ -s "$work/deps" ] || { echo "cb: no dependencies read from shard.lock" >&2; exit 1; }
while read -r name git dep_version; do
  [ "$name" = spectator ] && continue # development dependency (cb's own specs)
  case "$git" in
    https://github.com/*) repo="${git#https://github.com/}"; repo="${repo%.git}" ;;
    *) echo "cb: dependency $name is not on GitHub ($git)" >&2; exit 1 ;;
  esac
  fetch "$repo" "v$dep_version" "$src/lib/$name"
done <"$work/deps"

# cb's source asks `shards version DIR` at compile time (src/cb.cr, SHARDS_VERSION) and git for
# its commit (BUILD_SHA, from GIT_SHA when set). Without shards, answer the one question it asks
# as shards does: the version in the shard.yml at or above DIR.
mkdir -p "$work/bin"
cat >"$work/bin/shards" <<'SHIM'
#!/bin/sh
[ "$1" = version ] || { echo "shards: only 'version' is provided here" >&2; exit 1; }
dir="${2:-.}"
while [ ! -f "$dir/shard.yml" ] && [ "$dir" != / ]; do dir="$(dirname "$dir")"; done
sed -n 's/^version: *//p' "$dir/shard.yml"
SHIM
chmod +x "$work/bin/shards"
# The commit `cb version` shows: the tag's, from the mirror when there is one.
sha="$(git --git-dir="$(find "$mirrors" -maxdepth 1 -iname CrunchyData+bridge-cli -print -quit 2>/dev/null || true)/repo" rev-parse --short "v$version^{commit}" 2>/dev/null || echo "v$version")"

echo "cb: crystal build (cb v$version, $(crystal --version | head -1))"
start=$SECONDS
(cd "$src" && PATH="$work/bin:$PATH" GIT_SHA="$sha" crystal build --no-debug -o "$work/cb" src/cli.cr)
as_root mkdir -p "$dest/bin"
as_root install -m 0755 "$work/cb" "$dest/bin/cb"
echo "cb: $("$dest/bin/cb" version) built in $((SECONDS - start)) s into $dest/bin/cb"
