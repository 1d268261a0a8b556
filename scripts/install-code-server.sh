#!/usr/bin/env bash
# Installs code-server 4.100.3 (= VS Code 1.100.3; newer ones need Node 22) into .tools/ (git-ignored) for the
# end-to-end tests (test/e2e), without network access beyond the npm registry and Debian's packages.
# Recipe: /work/shared/notes/environment.md. Idempotent: does nothing when already installed.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TOOLS="${CERTSEG_TOOLS_DIR:-$ROOT/.tools}"
CS="$TOOLS/node_modules/code-server"
if [ -x "$CS/out/node/entry.js" ] || [ -f "$TOOLS/.code-server-ok" ]; then
  echo "code-server already installed in $TOOLS"; exit 0
fi
mkdir -p "$TOOLS"
if command -v apt-get >/dev/null 2>&1; then
  need=()
  for p in libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev ripgrep chromium; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
  done
  if [ ${#need[@]} -gt 0 ]; then apt-get update -qq && apt-get install -y -qq "${need[@]}"; fi
fi
cd "$TOOLS"
[ -f package.json ] || echo '{"name":"certseg-tools","private":true}' > package.json
npm install --no-audit --no-fund --ignore-scripts code-server@4.100.3
cd "$CS/lib/vscode"
npm install --no-audit --no-fund --unsafe-perm --omit=dev --ignore-scripts
mkdir -p node_modules/@vscode/ripgrep/bin
cp "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
npm_config_yes=true npm rebuild --unsafe-perm
ln -sfn node_modules node_modules.asar
(cd bin/remote-cli && ln -sfn code-linux.sh code-server)
(cd bin/helpers && ln -sfn browser-linux.sh browser.sh)
(cd extensions && npm install --no-audit --no-fund --unsafe-perm --omit=dev)
cd "$TOOLS"
npm_config_yes=true npm rebuild --unsafe-perm argon2
touch "$TOOLS/.code-server-ok"
echo "code-server installed: $TOOLS/node_modules/.bin/code-server"
