# The two set-up commands (see README.md). Both create .venv with Python >= 3.12 by themselves.
.PHONY: run test lint bench

run:  ## install cxsim and run the example scenario, printing its summary
	@scripts/venv >/dev/null && .venv/bin/cxsim run scenarios/hotel.yaml

test:  ## the test suite and the linter (what CI runs)
	@scripts/venv >/dev/null && .venv/bin/ruff check src tests benchmarks && .venv/bin/python -m pytest -q

bench:  ## speed and memory benchmarks (figures go to benchmarks/README.md by hand)
	@scripts/venv >/dev/null && .venv/bin/python benchmarks/throughput.py
