# make run: install everything, then run nimbus on its embedded defaults.
# make test: install everything, then lint, type-check and run the whole suite.
.PHONY: install run test

install:
	scripts/install.sh

run: install
	.venv/bin/nimbus up

test:
	scripts/test.sh

# make bench [SERVERS=200 CLIENTS=8 UNLOADED=20 VOLUMES=20 GROWTH=1000000 JSON=...]:
# the speed goals table (bench/run.py): nimbus up as its own process, the load from
# another, each figure next to its baseline from the same run; the figures also as JSON.
# make bench-quick: the same in about two minutes (fewer boots, a 100k-event log).
.PHONY: bench bench-quick
BENCH = .venv/bin/python -m bench --clients $(or $(CLIENTS),8) \
	--json $(or $(JSON),bench/results/latest.json)
bench:
	$(BENCH) --servers $(or $(SERVERS),200) --unloaded $(or $(UNLOADED),20) --volumes $(or $(VOLUMES),20) \
		--growth-events $(or $(GROWTH),1000000)
bench-quick:
	$(BENCH) --servers $(or $(SERVERS),60) --unloaded $(or $(UNLOADED),5) \
		--growth-events $(or $(GROWTH),100000) --latency-count 20 --volumes 8 --network-ports 10,100 --network-servers 5

# make bench-recovery [SERVERS=100 VOLUMES=100 LOG=100000,1000000]: the disaster
# recovery figures (bench/recovery.py): RTO of nimbus recover --apply, RPO, rebuild rate.
.PHONY: bench-recovery
bench-recovery:
	.venv/bin/python -m bench.recovery --servers $(or $(SERVERS),100) --volumes $(or $(VOLUMES),100) \
		--log $(or $(LOG),100000,1000000)
