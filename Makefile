# make run: install everything, then run nimbus on its embedded defaults.
# make test: install everything, then lint, type-check and run the whole suite.
.PHONY: install run test

install:
	scripts/install.sh

run: install
	.venv/bin/nimbus up

test:
	scripts/test.sh

# make bench [SERVERS=200 CLIENTS=8 PROJECTS=4 ROUNDS=10 VOLUMES=20]: the boot
# benchmark (bench/boot.py), the lifecycle mix (bench/mix.py) and the volume
# lives (bench/volumes.py), each in a throwaway place.
.PHONY: bench
bench:
	.venv/bin/python -m bench.boot --servers $(or $(SERVERS),200) --clients $(or $(CLIENTS),8)
	.venv/bin/python -m bench.mix --projects $(or $(PROJECTS),4) --clients $(or $(CLIENTS),8) \
		--rounds $(or $(ROUNDS),10)
	.venv/bin/python -m bench.volumes --volumes $(or $(VOLUMES),20) --clients 4
