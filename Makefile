# qmlbridge: one-line recipes. `make run` and `make test` are the two commands the README promises.
SHELL := /bin/bash
CARGO ?= cargo
# The framework's own CLI, built from this checkout.
QMLBRIDGE ?= $(CARGO) run --quiet -p qmlbridge-cli --
# The QML `qmlbridge lint` checks (labels that would render data as markup; docs/qml.md).
QML_DIRS = qml examples/todo/qml examples/expenses/qml host/fixture/qml
# What the todo image's end-to-end test checks over HTTP and on screen (packaging/test-appimage.sh).
TODO_IMAGE_TEST = QMLBRIDGE_TEST_RESOURCE=todos QMLBRIDGE_WINDOW_TITLE="qmlbridge todo"

.PHONY: deps build run dev test lint fmt bench appimage appimage-test screenshots clean

deps:
	scripts/install-deps.sh build test

build: deps
	$(CARGO) build --workspace

# `make run FRESH=1`: start with empty data (the dev data dir is moved aside; README, "Data").
run: deps
	FRESH=$(FRESH) scripts/run.sh

# The edit loop on the todo example: QML saves reload the window, backend saves rebuild and swap
# the backend, host saves rebuild and restart the window (docs: README, "The edit loop");
# `make dev ATTACH=URL`: the window against a backend you run yourself; `make dev FRESH=1`: start
# with empty data (the dev data dir is moved aside).
dev: deps
	$(QMLBRIDGE) dev --app examples/todo $(if $(ATTACH),--attach $(ATTACH)) $(if $(FRESH),--fresh)

test: deps
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) test --workspace
	scripts/qmllint.sh
	$(QMLBRIDGE) lint $(QML_DIRS)
	$(MAKE) appimage-test
	scripts/test-new-app.sh

lint: deps
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	scripts/qmllint.sh
	$(QMLBRIDGE) lint $(QML_DIRS)

fmt:
	$(CARGO) fmt --all

bench: deps
	scripts/install-deps.sh bench
	scripts/bench.sh

screenshots: deps
	scripts/install-deps.sh screenshots
	scripts/screenshots.sh

appimage: deps
	scripts/install-deps.sh appimage
	$(QMLBRIDGE) bundle --app examples/todo

appimage-test: deps
	scripts/install-deps.sh appimage
	$(TODO_IMAGE_TEST) $(QMLBRIDGE) bundle --app examples/todo --test

clean:
	$(CARGO) clean
