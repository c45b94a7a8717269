# Shared by scripts/regenerate and scripts/check-generated: generate_into DIR writes the
# low-level client generated from openapi.yaml to DIR/pipeline_service_api.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV_BIN="$(dirname "$(command -v python)")"
if [ -x "$ROOT/.venv/bin/openapi-python-client" ]; then VENV_BIN="$ROOT/.venv/bin"; fi

generate_into() {
  local out="$1/pipeline_service_api"
  rm -rf "$out"
  # The generator's post-hooks call ruff from PATH: use the pinned one from the venv.
  (cd "$1" && PATH="$VENV_BIN:$PATH" "$VENV_BIN/openapi-python-client" generate \
      --path "$ROOT/openapi.yaml" --config "$ROOT/openapi-generator.yaml" \
      --custom-template-path "$ROOT/openapi-templates" \
      --meta none --output-path "$out" --fail-on-warning >/dev/null)
  rm -rf "$out/.ruff_cache"
  find "$out" -name __pycache__ -type d -prune -exec rm -rf {} +
  : > "$out/py.typed"
}
