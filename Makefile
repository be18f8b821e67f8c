# The two set-up commands (see README.md). Both create .venv with Python >= 3.12 by themselves.
.PHONY: run test lint bench

run:  ## install cxsim, run the example scenario, print its summary and write its report
	@scripts/venv >/dev/null && .venv/bin/cxsim run scenarios/hotel.yaml --report

test:  ## the test suite and the linter (what CI runs)
	@scripts/venv >/dev/null && scripts/browser && .venv/bin/ruff check src tests benchmarks examples && .venv/bin/python -m pytest -q

bench:  ## speed and memory benchmarks (figures go to benchmarks/README.md by hand)
	@scripts/venv >/dev/null && .venv/bin/python benchmarks/throughput.py
