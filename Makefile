# Entry points: `make demo` and `make test` do all set-up on a fresh machine.
SHELL := bash
TARGET := x86_64-unknown-linux-gnu
BIN := target/$(TARGET)/release/netpath

.PHONY: all build testplane venv test e2e test-rust lint demo collection bench clean

all: build

## build: the static release binary (lands in target/x86_64-unknown-linux-gnu/release/netpath)
build:
	cargo build --release --locked
	@echo "built $(BIN)"

## testplane: build (or reuse from cache) kube-apiserver and etcd from the Go module proxy
testplane:
	tools/testplane/build.sh

## venv: .venv with the pinned ansible-core, molecule and ansible-lint
venv:
	scripts/venv

## collection: the static binary, roles and generated module docs as dist/netpath-calico_alb-<version>.tar.gz
collection: build venv
	NETPATH_SKIP_CARGO=1 scripts/build-collection

## test: formatting, lints, unit and integration tests against a real control plane
test: build testplane venv
	scripts/test

## e2e: the controller suite alone: netpath -> the real AWS Load Balancer Controller v3.5.0 -> moto (also part of test)
e2e: build testplane venv
	scripts/test-lbc

## demo: build, start a local control plane, apply the seed's configuration, show it, stop
## (make demo KEEP=1 leaves the plane running and says how to use and stop it)
KEEP ?= 0
demo: build testplane venv
	NETPATH_SKIP_CARGO=1 KEEP=$(KEEP) scripts/demo

## bench: side-by-side benchmarks (not part of test)
bench: build testplane
	bench/run

clean:
	cargo clean
	rm -rf dist .testplane
