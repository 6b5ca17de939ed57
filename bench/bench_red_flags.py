"""Benchmark: the red-flag reader on the corpus, next to the old phrase matching.

Run from the repository root (not part of the test suite):

    .venv/bin/python -m bench.bench_red_flags [--rounds 20] [--misses]

Both read every message of tests/fixtures/red_flag_corpus.toml in the same run:

- baseline: the phrase matching the service used before concepts (a frozen copy in
  bench/baseline_phrase_red_flags.py, with the phrase lists the protocol held then);
- reader: service.domain.red_flags with the protocol file's concepts.

Printed for each: recall on clear red flags, reach on ambiguous messages (and how
many of them go to the queue rather than alerting), false alerts on benign ones, for
the original corpus (written before tuning), the messages added after tuning, and
all; then the time per message (best of ``--rounds`` passes over the corpus, so a
burst of load from another process hurts both alike) and the reader's one-off
start-up (loading the Spanish dictionary and compiling the concepts).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from decimal import Decimal

from bench.baseline_phrase_red_flags import baseline_read
from service.domain.protocol_loader import load_protocol
from service.domain.red_flags import RedFlagReader
from service.settings import REPO_ROOT
from tests.support.red_flag_corpus import (
    Message,
    Outcome,
    load_corpus,
    outcome_of_reading,
    score,
)


def _best_per_message(read: Callable[[str], object], texts: list[str], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for text in texts:
            read(text)
        best = min(best, (time.perf_counter() - started) / len(texts))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--misses", action="store_true", help="list every miss")
    args = parser.parse_args()

    protocol = load_protocol(REPO_ROOT / "schedules" / "msc-role.toml")
    threshold = Decimal(str(protocol.safety.fever_threshold_c))
    messages = load_corpus()
    texts = [m.text for m in messages]

    started = time.perf_counter()
    reader = RedFlagReader(protocol.symptoms, protocol.safety)
    reader.read("me duele el pecho")
    start_up = time.perf_counter() - started

    def reader_outcome(message: Message) -> Outcome:
        return outcome_of_reading(reader.read(message.text))

    def baseline_outcome(message: Message) -> Outcome:
        alerts, matched = baseline_read(message.text, threshold)
        if alerts:
            return Outcome("alert", alerts)
        return Outcome("queue", reason="unplaced") if matched else Outcome("benign")

    for name, outcome in (("BASELINE (phrases)", baseline_outcome), ("READER", reader_outcome)):
        print(f"==== {name}")
        print(score(messages, outcome).report(misses=args.misses))
        print()

    base = _best_per_message(lambda t: baseline_read(t, threshold), texts, args.rounds)
    new = _best_per_message(reader.read, texts, args.rounds)
    print(f"time per message ({len(texts)} messages, best of {args.rounds} rounds):")
    print(f"  baseline (phrases)  {base * 1e6:8.1f} µs")
    print(f"  reader (concepts)   {new * 1e6:8.1f} µs   ({new / base:.1f}x the baseline)")
    print(f"  reader start-up (dictionary load + compile, once per process): {start_up:.2f} s")


if __name__ == "__main__":
    main()
