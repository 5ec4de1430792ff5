#!/usr/bin/env bash
# berth's one entry point for people and CI.
#
#   ./dev.sh serve [ARGS]   build berth quickly (unoptimised, site embedded) and run `berth serve ARGS`
#   ./dev.sh test           every test: format, lints, unit, integration and browser tests
#   ./dev.sh build          build the release binary (optimised for size, slow to build; prints its path)
#
# It installs what is missing first: the wasm target, wasm-bindgen-cli (pinned
# to the library's version), and for tests Debian's chromium, chromedriver and
# docker.io (whose engine it starts when none runs), and schemathesis (pinned,
# from PyPI into a venv under the target directory) for the OpenAPI test.
set -euo pipefail
cd "$(dirname "$0")"

WASM_BINDGEN_VERSION=0.2.129   # must equal the `wasm-bindgen` pin in Cargo.toml
WASM_SPLIT_VERSION=0.2.3       # wasm-split-cli: one piece of wasm per page (leptos's #[lazy_route])
BINARYEN_VERSION=132           # wasm-opt from npm; Debian's (108) breaks the wasm
XTERM_VERSION=6.0.0            # the web terminal: @xterm/xterm from npm, served by berth itself
XTERM_FIT_VERSION=0.11.0       # and its @xterm/addon-fit
SCHEMATHESIS_VERSION=4.32.5    # server/tests/openapi.rs uses this version's flags
OPENAPI_VALIDATOR_VERSION=0.9.0  # openapi-spec-validator: the document against the OpenAPI 3.1 schema

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'dev.sh: %s\n' "$*" >&2; exit 1; }

TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
SITE_DIR="$TARGET_DIR/site"
export PATH="$HOME/.cargo/bin:$PATH"

ensure_wasm_tools() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
    say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes, once)"
    CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
      cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --locked
  fi
  if ! cargo install --list | grep -qx "wasm_split_cli_support v$WASM_SPLIT_VERSION:"; then
    say "installing wasm-split-cli $WASM_SPLIT_VERSION (a minute or two, once)"
    CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
      cargo install wasm_split_cli_support --version "$WASM_SPLIT_VERSION" --features build-binary --locked
  fi
}

wasm_opt() {
  local bin="$TARGET_DIR/tools/node_modules/.bin/wasm-opt"
  if [ ! -x "$bin" ]; then
    if ! command -v npm >/dev/null; then
      say "npm is missing: the wasm stays unoptimised (larger, works the same)"
      return 0
    fi
    say "installing wasm-opt (binaryen $BINARYEN_VERSION from npm)"
    mkdir -p "$TARGET_DIR/tools"
    npm install --silent --no-audit --no-fund --prefix "$TARGET_DIR/tools" "binaryen@$BINARYEN_VERSION" >&2
  fi
  "$bin" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int "$1" -o "$1"
}

# compress_site debug|release: FILE.gz and FILE.br beside each text and wasm
# file of the site (best levels for release, quick ones for the tests' debug
# site), which the server sends to browsers that take them. Release gzip is
# GNU gzip's -9 where there is one: 2% smaller than node's zlib at level 9
# (the app's wasm 336.9 KB against 343.0 KB), and every Debian has it.
compress_site() {
  if ! command -v node >/dev/null; then
    say "node is missing: the site will be served uncompressed"
    return 0
  fi
  node - "$SITE_DIR" "$1" <<'JS'
const fs = require('fs'), path = require('path'), zlib = require('zlib');
const { execFileSync } = require('child_process');
const [dir, profile] = process.argv.slice(2);
const best = profile === 'release';
const gzip = (file, raw) => {
  if (best) {
    try { return execFileSync('gzip', ['-9', '-n', '-c', file], { maxBuffer: 1 << 30 }); } catch (e) {}
  }
  return zlib.gzipSync(raw, { level: best ? 9 : 6 });
};
const files = (d) => fs.readdirSync(d, { withFileTypes: true })
  .flatMap((e) => e.isDirectory() ? files(path.join(d, e.name)) : [path.join(d, e.name)]);
for (const file of files(dir).filter((f) => /\.(js|mjs|wasm|css|svg|json|html|txt)$/.test(f))) {
  const raw = fs.readFileSync(file);
  fs.writeFileSync(file + '.gz', gzip(file, raw));
  fs.writeFileSync(file + '.br', zlib.brotliCompressSync(raw, { params: {
    [zlib.constants.BROTLI_PARAM_QUALITY]: best ? 11 : 5,
    [zlib.constants.BROTLI_PARAM_SIZE_HINT]: raw.length,
  } }));
}
JS
}

# xterm_assets: xterm.js, its CSS and its fit addon (pinned, from npm into
# $TARGET_DIR/tools once) into the site's /xterm/, for public/terminal.js:
# the terminal pages load them from berth, never from a CDN.
xterm_assets() {
  local mods="$TARGET_DIR/tools/node_modules/@xterm"
  local have_term have_fit
  have_term=$(node -p "require('$mods/xterm/package.json').version" 2>/dev/null || true)
  have_fit=$(node -p "require('$mods/addon-fit/package.json').version" 2>/dev/null || true)
  if [ "$have_term" != "$XTERM_VERSION" ] || [ "$have_fit" != "$XTERM_FIT_VERSION" ]; then
    command -v npm >/dev/null || die "the web terminal needs xterm.js from npm: install npm (and node)"
    say "installing xterm.js $XTERM_VERSION and @xterm/addon-fit $XTERM_FIT_VERSION (npm)"
    mkdir -p "$TARGET_DIR/tools"
    npm install --silent --no-audit --no-fund --save-exact --prefix "$TARGET_DIR/tools" \
      "@xterm/xterm@$XTERM_VERSION" "@xterm/addon-fit@$XTERM_FIT_VERSION" >&2
  fi
  mkdir -p "$SITE_DIR/xterm"
  cp "$mods/xterm/lib/xterm.js" "$mods/xterm/css/xterm.css" "$mods/addon-fit/lib/addon-fit.js" "$SITE_DIR/xterm/"
  cp "$mods/xterm/LICENSE" "$SITE_DIR/xterm/LICENSE.txt"
}

# split_manifest PKG: PKG/__wasm_split_manifest.json, each split point
# (a group of pages) with the pieces of wasm it loads, read from the loader
# wasm-split-cli wrote (its library returns this map; its command line does
# not write it). The server names a page's pieces in its <head>, so that the
# browser fetches them beside the app, not after it.
split_manifest() {
  node - "$1" <<'JS'
const fs = require('fs');
const dir = process.argv[2];
const js = fs.readFileSync(`${dir}/__wasm_split.js`, 'utf8');
const file = (fetcher) => (fetcher.match(/new URL\("\.\/([^"]+)\.wasm"/) || [])[1];
const chunks = new Map();
for (const m of js.matchAll(/^const (__chunk_\d+) = makeLoad\(([\s\S]*?), \[\]\);$/gm)) chunks.set(m[1], file(m[2]));
const manifest = {};
for (const m of js.matchAll(/^export const __wasm_split_load_(\w+) = wrapAsyncCb\(makeLoad\(([\s\S]*?), \[([^\]]*)\]\)\);$/gm)) {
  const deps = m[3].split(',').map((d) => d.trim()).filter(Boolean).map((d) => {
    if (!chunks.has(d)) throw new Error(`__wasm_split.js: ${m[1]} loads ${d}, which it does not define`);
    return chunks.get(d);
  });
  manifest[m[1]] = [...deps, file(m[2])].filter(Boolean);
}
const pieces = fs.readdirSync(dir).filter((f) => f.endsWith('.wasm') && f !== 'berth_bg.wasm').length;
const named = [...chunks.values()].filter(Boolean).length + Object.keys(manifest).length;
if (Object.keys(manifest).length === 0 || named !== pieces) {
  throw new Error(`__wasm_split.js: ${named} pieces named, ${pieces} on disk: has wasm-split-cli's output changed?`);
}
fs.writeFileSync(`${dir}/__wasm_split_manifest.json`, JSON.stringify(manifest));
// The loader fetches each piece with fetchPiece: a network failure (Chromium
// aborts requests when the machine's interfaces change, as when Docker adds
// one) is tried again, and a page of an older berth, whose pieces went with
// an upgrade, is reloaded once. Otherwise the page's wasm would panic.
const fetches = js.split('fetch(new URL(').length - 1;
if (fetches !== named) throw new Error(`__wasm_split.js: ${fetches} fetches for ${named} pieces: has wasm-split-cli's output changed?`);
fs.writeFileSync(`${dir}/__wasm_split.js`, `async function fetchPiece(url) {
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await fetch(url);
      if (response.status === 404 && !sessionStorage.getItem('berth-reloaded')) {
        sessionStorage.setItem('berth-reloaded', '1');
        location.reload();
        return new Promise(() => {});
      }
      return response;
    } catch (e) {
      if (attempt === 5) throw e;
      await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** attempt));
    }
  }
}
` + js.replaceAll('fetch(new URL(', 'fetchPiece(new URL('));
JS
}

# build_site debug|release: the wasm, its JS glue, the CSS and public/ into $SITE_DIR.
# The wasm is split first: the app (router, layout, what pages share) and
# one piece per page (app/src/lib.rs, `lazy_pages!`), which its loader
# (pkg/__wasm_split.js) fetches when the page is first shown.
build_site() {
  local profile=wasm-release dir=wasm-release
  [ "$1" = debug ] && profile=dev dir=debug
  say "building the site ($1)"
  cargo build -p berth-frontend --lib --target wasm32-unknown-unknown --profile "$profile"
  rm -rf "$SITE_DIR" && mkdir -p "$SITE_DIR/pkg" "$SITE_DIR/split"
  wasm-split-cli "$TARGET_DIR/wasm32-unknown-unknown/$dir/berth_frontend.wasm" "$SITE_DIR/split" --out-name berth
  wasm-bindgen --target web --no-typescript --keep-lld-exports --out-dir "$SITE_DIR/pkg" --out-name berth \
    "$SITE_DIR/split/berth.wasm"
  rm "$SITE_DIR/split/berth.wasm" && mv "$SITE_DIR/split"/* "$SITE_DIR/pkg/" && rmdir "$SITE_DIR/split"
  split_manifest "$SITE_DIR/pkg"
  if [ "$1" = release ]; then
    for wasm in "$SITE_DIR"/pkg/*.wasm; do wasm_opt "$wasm"; done
  fi
  cp style/main.css "$SITE_DIR/pkg/berth.css"
  cp -R public/. "$SITE_DIR/"
  xterm_assets
  compress_site "$1"
  # The server embeds whatever this names (see server/build.rs).
  export BERTH_EMBED_SITE="$SITE_DIR"
}

ensure_browser() {
  command -v chromium >/dev/null && command -v chromedriver >/dev/null && return 0
  [ "$(id -u)" = 0 ] || die "the browser tests need chromium and chromedriver: sudo apt-get install chromium chromium-driver"
  say "installing chromium and chromedriver (Debian packages)"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >&2
}

# The tests talk to a real Docker engine and use an image they make
# themselves (there is no registry): busybox-static in an empty root.
TEST_IMAGE=berth-test/busybox:1
ensure_docker() {
  local root=0; [ "$(id -u)" = 0 ] && root=1
  # Stacks run the real compose: Debian has only v1 (docker-compose 1.29);
  # berth uses `docker compose` (v2) instead where a host has it.
  if ! command -v dockerd >/dev/null || ! dpkg -s busybox-static >/dev/null 2>&1 \
    || { ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null; }; then
    [ $root = 1 ] || die "the tests need Docker, busybox and compose: sudo apt-get install docker.io busybox-static docker-compose"
    say "installing docker.io, busybox-static and docker-compose (Debian packages)"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io busybox-static docker-compose >&2
  fi
  if ! docker info >/dev/null 2>&1; then
    [ $root = 1 ] || die "start the Docker engine first (the tests need one)"
    say "starting the Docker engine (log: /var/log/berth-dockerd.log)"
    (dockerd >/var/log/berth-dockerd.log 2>&1 &)
    for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
    docker info >/dev/null 2>&1 || die "dockerd did not start; see /var/log/berth-dockerd.log"
  fi
  if ! docker image inspect "$TEST_IMAGE" >/dev/null 2>&1; then
    say "making the test image $TEST_IMAGE"
    local rootfs; rootfs=$(mktemp -d)
    mkdir -p "$rootfs/bin"
    cp /bin/busybox "$rootfs/bin/busybox"
    for applet in sh sleep echo cat ls ps top wget httpd true false env; do ln -s busybox "$rootfs/bin/$applet"; done
    tar -C "$rootfs" -c . | docker import - "$TEST_IMAGE" >/dev/null
    rm -rf "$rootfs"
  fi
}

# server/tests/openapi.rs runs schemathesis against the server's OpenAPI
# document, and openapi-spec-validator on it; it finds them through
# BERTH_SCHEMATHESIS and BERTH_OPENAPI_VALIDATOR.
ensure_schemathesis() {
  local venv="$TARGET_DIR/tools/schemathesis-venv"
  if [ "$("$venv/bin/schemathesis" --version 2>/dev/null | awk '{print $NF}')" != "$SCHEMATHESIS_VERSION" ]; then
    # Debian's python3 has the venv module only with python3-venv (ensurepip).
    if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
      [ "$(id -u)" = 0 ] || die "the OpenAPI test needs Python's venv module: sudo apt-get install python3-venv"
      say "installing python3-venv (Debian package)"
      apt-get update -qq >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >&2
    fi
    say "installing schemathesis $SCHEMATHESIS_VERSION (PyPI, into $venv)"
    python3 -m venv --clear "$venv" >&2
    "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" >&2 \
      || die "could not install schemathesis $SCHEMATHESIS_VERSION from PyPI"
  fi
  if [ "$("$venv/bin/pip" show openapi-spec-validator 2>/dev/null | awk '/^Version:/ {print $2}')" != "$OPENAPI_VALIDATOR_VERSION" ]; then
    say "installing openapi-spec-validator $OPENAPI_VALIDATOR_VERSION (PyPI, into $venv)"
    "$venv/bin/pip" install -q --disable-pip-version-check "openapi-spec-validator==$OPENAPI_VALIDATOR_VERSION" >&2 \
      || die "could not install openapi-spec-validator $OPENAPI_VALIDATOR_VERSION from PyPI"
  fi
  export BERTH_SCHEMATHESIS="$venv/bin/schemathesis"
  export BERTH_OPENAPI_VALIDATOR="$venv/bin/openapi-spec-validator"
}

cmd_build() {
  ensure_wasm_tools
  build_site release
  say "building the server (release, site embedded)"
  cargo build --release -p berth-server
  echo "$TARGET_DIR/release/berth"
}

# A first look: the same unoptimised build the tests use (a few minutes on
# two cores, and shared with `./dev.sh test`), not the release binary, whose
# size-optimised single-unit build takes half an hour there.
cmd_serve() {
  ensure_wasm_tools
  build_site debug
  say "building the server (unoptimised: quick to build; ./dev.sh build makes the release binary)"
  cargo build -p berth-server
  local bin="$TARGET_DIR/debug/berth"
  say "starting berth: $bin serve $*"
  exec "$bin" serve "$@"
}

cmd_test() {
  ensure_wasm_tools
  ensure_browser
  ensure_docker
  ensure_schemathesis
  say "checking formatting"
  cargo fmt --all -- --check
  build_site debug
  # One package set for lints and tests, so that cargo unifies features once
  # and builds each crate once (the binary the browser tests run included).
  local pkgs=(-p berth-core -p berth-app -p berth-server -p end2end)
  say "lints (server, and the browser side for wasm)"
  cargo clippy "${pkgs[@]}" --all-targets -- -D warnings
  cargo clippy -p berth-frontend -p berth-app --features berth-app/hydrate --target wasm32-unknown-unknown -- -D warnings
  say "unit, integration and browser tests (real chromium against the real binary)"
  # Tests that need root (a second dockerd, stopping and restarting the
  # engine) or the embedded site are #[ignore]d, so that a plain `cargo test`
  # lists them as ignored. The site is built here; as root (CI) every test runs.
  if [ "$(id -u)" = 0 ]; then
    BERTH_BIN="$TARGET_DIR/debug/berth" cargo test "${pkgs[@]}" -- --include-ignored
  else
    BERTH_BIN="$TARGET_DIR/debug/berth" cargo test "${pkgs[@]}"
    say "the ignored tests that need the site (those that need root stay ignored: run ./dev.sh test as root)"
    cargo test "${pkgs[@]}" --test api -- --ignored site_files
  fi
}

case "${1:-}" in
  serve) shift; cmd_serve "$@" ;;
  test) shift; cmd_test "$@" ;;
  build) shift; cmd_build "$@" ;;
  *) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
