#!/usr/bin/env bash
# `make run`: build, migrate and serve the backend with the Caddyfile's dev defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p qmlbridge-backend
mkdir -p backend/var
cd backend
export DATABASE_URL="${DATABASE_URL:-sqlite://var/data.sqlite}"
../target/release/qmlbridge-backend migrate
exec ../target/release/qmlbridge-backend serve --config ../Caddyfile
