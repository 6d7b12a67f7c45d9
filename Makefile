# Targets for building, testing and demonstrating cjsm.
#
# make test needs the peers that .ci/run installs (Postfix, PostgreSQL, swaks,
# python3). Tests whose peer is missing are skipped, unless CJSM_REQUIRE_PEERS=1
# makes them fail. make demo writes its files to $DIR, default ./demo.

.PHONY: build test demo

build:
	go build -o bin/cjsm ./cmd/cjsm

test:
	go vet ./... && go test -count=1 -timeout 25m ./...
	cd third_party/go-imap && go test -count=1 ./...

demo:
	go run ./cmd/cjsm demo --dir $${DIR:-demo}
