# The two commands of the README. Both set up a fresh machine first (idempotent, fast when done).
.PHONY: run test lint bench setup

run:            ## set up, run the nightly job on the bundled sample, print the morning list
	@scripts/setup.sh
	.venv/bin/triage run

test:           ## set up (incl. dovecot, chromium), run the whole test suite
	@scripts/setup.sh --test
	.venv/bin/python -m pytest

lint:
	.venv/bin/ruff check triage flows tests bench
	.venv/bin/mypy

bench:
	.venv/bin/python bench/bench_e2e.py
