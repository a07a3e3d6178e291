# Tenflix: the two commands are `make run` and `make test` (see README.md).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ROOT      := $(CURDIR)
BIN       := $(ROOT)/bin
DATA      := $(ROOT)/.data
DAPR_VERSION := 1.14.0
# The apps are the rows of dapr/dapr.yaml (the one table); devstack's tests
# check that go.work, docker-compose.yml, the secrets templates and the README
# agree with it.
SERVICES  := $(shell sed -n 's/^  - appID: *//p' dapr/dapr.yaml)
# Modules tested by `make test`; each builds and tests on its own (GOWORK=off).
MODULES   := platform proto $(addprefix services/,$(SERVICES)) tools/devstack tools/seed tools/deadletter tools/midtrans-emulator tools/cloudinary-emulator
GO        := go
# The watch page's npm packages (tools/web): hls.js, embedded in the gateway
# (copied into services/gateway/web/lib, not committed), and playwright-core,
# which drives Debian's chromium in the browser test (tools/e2e/web_test.go).
WEB_MODULES := tools/web/node_modules/.package-lock.json
WEB_LIB     := services/gateway/web/lib/hls.min.js
export GOFLAGS := -buildvcs=false
# Topics published before anything subscribes to them (devstack creates the
# others from components/): declared so that kfake persists them.
export TENFLIX_EXTRA_TOPICS := users

.PHONY: help run stop test deps build build-daprd proto infra reset bench e2e test-unit compose-env deadletter

help:
	@echo "make run    install what is missing, build, start infra + every service with its sidecar"
	@echo "make stop   stop what make run started"
	@echo "make test   every test: unit, integration (real PostgreSQL, kfake, FerretDB) and end-to-end"
	@echo "make reset  stop and delete local data (.data/, the services' databases)"
	@echo "make proto  regenerate Go code from proto/"
	@echo "make deadletter ARGS=list|\"show ID\"|\"replay ID\"|\"replay -all\"   read and replay dead-lettered events"

run: deps build
	$(BIN)/devstack up -root $(ROOT) -then $(BIN)/seed

stop:
	@if [ -x $(BIN)/devstack ]; then $(BIN)/devstack stop -data $(DATA); fi

# Debian packages the stack needs; installed only when missing.
deps:
	@missing=""; \
	command -v pg_ctlcluster >/dev/null || missing="$$missing postgresql"; \
	command -v ffmpeg >/dev/null || missing="$$missing ffmpeg"; \
	command -v npm >/dev/null || missing="$$missing nodejs npm"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@$(MAKE) --no-print-directory $(WEB_MODULES)

build: build-daprd $(BIN)/mailpit $(WEB_LIB)
	@mkdir -p $(BIN)
	cd tools/devstack && GOWORK=off $(GO) build -o $(BIN)/devstack .
	cd tools/seed && GOWORK=off $(GO) build -o $(BIN)/seed .
	cd tools/midtrans-emulator && GOWORK=off $(GO) build -o $(BIN)/midtrans-emulator .
	cd tools/cloudinary-emulator && GOWORK=off $(GO) build -o $(BIN)/cloudinary-emulator .
	@for s in $(SERVICES); do \
	  echo "build $$s"; (cd services/$$s && $(GO) build -o $(BIN)/$$s .); \
	done

# daprd and sentry (Dapr's CA) are built from the Go module proxy (no Dapr CLI
# here) by tools/daprd: upstream daprd with -tags stablecomponents plus the
# SQLite name resolver (see tools/daprd/main.go), and one line of upstream
# fixed at build time (tools/daprd/patch-outbox.sh: the outbox's lookup
# loop that never ends). Rebuilt only when that module
# changes; the Go build cache makes a rebuild take seconds.
DAPR_TOOLS := tools/daprd/go.mod tools/daprd/go.sum tools/daprd/main.go tools/daprd/patch-outbox.sh
DAPR_LDFLAGS := -X github.com/dapr/dapr/pkg/buildinfo.version=$(DAPR_VERSION)

build-daprd: $(BIN)/daprd $(BIN)/sentry

$(BIN)/daprd: $(DAPR_TOOLS)
	@mkdir -p $(BIN)
	@echo "building daprd $(DAPR_VERSION) (first time on a machine: about 10 minutes)"
	modfile=$$(tools/daprd/patch-outbox.sh $(ROOT)/.build/daprd) && \
	cd tools/daprd && GOWORK=off $(GO) build -tags stablecomponents -modfile "$$modfile" -ldflags "$(DAPR_LDFLAGS)" -o $@ .

$(BIN)/sentry: $(DAPR_TOOLS) tools/daprd/sentry/main.go
	@mkdir -p $(BIN)
	cd tools/daprd && GOWORK=off $(GO) build -ldflags "$(DAPR_LDFLAGS)" -o $@ ./sentry

# mailpit, the local SMTP sink of notification's emails (devstack starts it:
# SMTP 127.0.0.1:1025, web UI and API 127.0.0.1:8025), from the Go module
# proxy by tools/mailpit; rebuilt only when that module changes.
$(BIN)/mailpit: tools/mailpit/go.mod tools/mailpit/go.sum
	@mkdir -p $(BIN)
	cd tools/mailpit && GOWORK=off $(GO) build -o $@ github.com/axllent/mailpit

proto:
	@command -v protoc >/dev/null || (apt-get update -qq && apt-get install -y -qq protobuf-compiler >/dev/null)
	cd proto && GOWORK=off GOBIN=$(BIN) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go
	cd proto && protoc --plugin=protoc-gen-go=$(BIN)/protoc-gen-go --go_out=. --go_opt=module=tenflix/proto catalog/v1/*.proto identity/v1/*.proto order/v1/*.proto payment/v1/*.proto subscription/v1/*.proto

# Only the infrastructure (PostgreSQL check, Kafka, MongoDB), e.g. for `dapr run -f dapr/dapr.yaml`.
infra: deps build
	$(BIN)/devstack infra -data $(DATA)

# Dead-lettered catalog events (only those no retry can fix): make deadletter
# ARGS=list | ARGS="show <id>" | ARGS="replay <id>" | ARGS="replay -all".
deadletter:
	cd tools/deadletter && GOWORK=off $(GO) run . $(ARGS)

# What docker-compose.yml refuses to start without (per-app API tokens, the CA,
# generated secrets): .env and .compose/, never committed.
compose-env: build
	$(BIN)/devstack compose-env -root $(ROOT)

reset: stop
	cd tools/devstack && GOWORK=off $(GO) build -o $(BIN)/devstack .
	rm -rf $(DATA)
	@for db in $$($(BIN)/devstack databases -root $(ROOT) -all); do \
	  echo "drop database $$db"; psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE \"$$db\" WITH (FORCE)"; done

test: deps build
	@if [ -f $(DATA)/devstack.pid ] && kill -0 $$(cat $(DATA)/devstack.pid) 2>/dev/null; then \
	  echo "make run is running: stop it first (make stop); tests start their own stack on the same ports"; exit 1; fi
	$(MAKE) --no-print-directory test-unit
	$(MAKE) --no-print-directory e2e

# Unit and integration tests, against a throwaway kfake + FerretDB and the
# machine's PostgreSQL. Each test creates its own database.
test-unit:
	@tmp=$$(mktemp -d); trap '$(BIN)/devstack stop -data $$tmp/.data >/dev/null 2>&1; rm -rf $$tmp' EXIT; \
	mkdir -p $$tmp/.data; \
	$(BIN)/devstack infra -data $$tmp/.data -db-suffix _unit > $$tmp/infra.log 2>&1 & \
	for i in $$(seq 1 120); do grep -q 'devstack: ready' $$tmp/infra.log && break; sleep 0.5; done; \
	grep -q 'devstack: ready' $$tmp/infra.log || { cat $$tmp/infra.log; exit 1; }; \
	for m in $(MODULES); do \
	  echo "== go test $$m"; (cd $$m && GOWORK=off $(GO) test -race -count=1 ./...); \
	done

# npm ci deletes node_modules first: touched so that make sees it done.
$(WEB_MODULES): tools/web/package.json tools/web/package-lock.json
	cd tools/web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(WEB_LIB): $(WEB_MODULES)
	cp tools/web/node_modules/hls.js/dist/hls.min.js $@

# End to end: the whole stack in a temporary root, driven over HTTP through
# the gateway (and in headless chromium), plus the Postman collection run by newman.
e2e: deps tools/postman/node_modules/.bin/newman $(WEB_LIB)
	cd tools/e2e && TENFLIX_ROOT=$(ROOT) GOWORK=off $(GO) test -count=1 -v -timeout 15m ./...

tools/postman/node_modules/.bin/newman: tools/postman/package.json tools/postman/package-lock.json
	cd tools/postman && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

bench: deps build
	cd tools/e2e && TENFLIX_ROOT=$(ROOT) GOWORK=off $(GO) test -count=1 -run '^$$' -bench . -benchtime 1x -timeout 20m ./...
