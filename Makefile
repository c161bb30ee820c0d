# Sluice — see README.md. Every target installs what it needs from scratch.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export UV_THREADPOOL_SIZE ?= 16

NODE_STAMP := node_modules/.package-lock.json
SERVICES   := test/services/services.sh

.PHONY: help install build docs demo test bench profile services-up services-down services-status clean

help:
	@echo "make demo           index a demo topic of APM logs into the local Elasticsearch"
	@echo "make test           install, build, start the local servers, run every suite, stop the servers"
	@echo "make bench          Sluice side by side with the usual Node.js designs and the machine's ceilings (bench/README.md)"
	@echo "make profile        Sluice under clinic doctor and flame, and V8 CPU profiles of every thread"
	@echo "make services-up    start the local Kafka and Elasticsearch (make services-down stops them)"
	@echo "make build          compile TypeScript into dist/"

# npm ci when package-lock.json is newer than the installed tree (node-rdkafka builds librdkafka here).
$(NODE_STAMP): package-lock.json
	npm ci --no-audit --no-fund
	@touch $(NODE_STAMP)

install: $(NODE_STAMP)

build: install
	node_modules/.bin/tsc -p tsconfig.json

# Regenerates the configuration reference in README.md from the schema.
docs: build
	node dist/src/config/write-reference.js README.md

demo: build services-up
	node dist/bench/demo.js

test: build
	bash test/run.sh

bench: build services-up
	node dist/bench/run.js

profile: build services-up
	node dist/bench/profile.js

services-up:
	bash $(SERVICES) up

services-down:
	bash $(SERVICES) down

services-status:
	bash $(SERVICES) status

clean:
	rm -rf dist
