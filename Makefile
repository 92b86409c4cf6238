# Entry points: `make demo` and `make test` do all set-up on a fresh machine.
SHELL := bash
TARGET := x86_64-unknown-linux-gnu
BIN := target/$(TARGET)/release/netpath

.PHONY: all build testplane venv test test-rust lint demo collection bench clean

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

## demo: build, start a local control plane, apply the seed's configuration, show it, stop
demo: build testplane venv
	scripts/demo

## bench: side-by-side benchmarks (not part of test)
bench: build testplane
	bench/run

clean:
	cargo clean
	rm -rf dist .testplane
