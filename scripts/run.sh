#!/usr/bin/env bash
# Runs Fieldcheck as far as it exists: the offline engine's walkthrough — imports the template
# pack into a tablet database under ./data, inspects a back alley and prints the score.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo run --quiet -p fieldcheck-core --example walkthrough -- "${1:-data}"
