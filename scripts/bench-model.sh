#!/usr/bin/env bash
# RestModel's part of `make bench`: fetch of a 10,000-row resource into a new model and live
# updates from POST to rowsInserted, real Qt offscreen, release builds. Prints the numbers and the
# ratio to each target (host/fixture/benches/model.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p qmlbridge-backend --example fixture
QT_QPA_PLATFORM=offscreen BRIDGE_LOG=warn,qt=info cargo bench -p qmlbridge-qt-fixture --bench model 2>&1 |
  grep -E 'rest_model:|failed|ERROR' | sed -E 's/^.*(rest_model: )/\1/; s/ category=.*$//'
