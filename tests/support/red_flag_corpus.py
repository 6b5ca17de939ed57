"""The red-flag corpus (tests/fixtures/red_flag_corpus.toml) and its figures.

Shared by the unit test (the pure reader), the webhook test (the real inbound path on
both databases) and the benchmark (next to the old phrase matching), so all three
count the same way:

* **recall**: clear red flags that alert with every red flag the clinician named;
* **reach**: ambiguous messages that reach people (an alert, or the queue with a
  reason: the reader saw a red flag and scoped it out);
* **scoped right**: ambiguous messages that go to the queue, not to an alert;
* **false alerts**: benign messages that alert;
* **lost**: clear or ambiguous messages read as nothing at all (they still reach the
  queue at the webhook, as "not understood", but no red flag was seen).

Figures are printed for the original set (written before the reader was tuned) and
for the whole set (messages added later carry ``added = "after tuning"``).
"""

from __future__ import annotations

import tomllib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service.domain.red_flags import TextReading

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "red_flag_corpus.toml"


@dataclass(frozen=True)
class Message:
    id: str
    cls: str  # clear, ambiguous, benign
    expect: str  # alert, queue, benign
    text: str
    flags: tuple[str, ...] = ()
    reason: str | None = None
    about: tuple[str, ...] = ()
    original: bool = True


@dataclass(frozen=True)
class Outcome:
    """What the service did with a message: alert (with codes), queue (reason) or benign."""

    kind: str
    flags: tuple[str, ...] = ()
    reason: str | None = None


def outcome_of_reading(reading: TextReading) -> Outcome:
    """The pure reader's verdict as an outcome: what the webhook then does with it."""
    if reading.alerts:
        return Outcome("alert", reading.alerts)
    reason = reading.queue_reason
    return Outcome("queue", reason=reason.value) if reason else Outcome("benign")


def load_corpus(path: Path = CORPUS) -> list[Message]:
    with path.open("rb") as handle:
        rows: list[dict[str, Any]] = tomllib.load(handle)["messages"]
    return [
        Message(
            id=row["id"],
            cls=row["class"],
            expect=row["expect"],
            text=row["text"],
            flags=tuple(row.get("flags", ())),
            reason=row.get("reason"),
            about=tuple(row.get("about", ())),
            original=row.get("added") != "after tuning",
        )
        for row in rows
    ]


@dataclass
class Figures:
    """Counts for one set of messages, overall and per red flag."""

    clear: Counter[str] = field(default_factory=Counter)
    clear_hit: Counter[str] = field(default_factory=Counter)
    ambiguous: Counter[str] = field(default_factory=Counter)
    reached: Counter[str] = field(default_factory=Counter)
    queued: Counter[str] = field(default_factory=Counter)
    benign: int = 0
    false_alerts: int = 0
    lost: int = 0
    messages: int = 0
    misses: list[str] = field(default_factory=list)

    def add(self, message: Message, outcome: Outcome) -> None:
        self.messages += 1
        alerted = outcome.kind == "alert"
        if message.cls == "clear":
            hit = alerted and set(message.flags) <= set(outcome.flags)
            for flag in message.flags:
                self.clear[flag] += 1
                self.clear_hit[flag] += alerted and flag in outcome.flags
            self.clear["all"] += 1
            self.clear_hit["all"] += hit
            if not hit:
                self.misses.append(_miss(message, outcome, "missed"))
        elif message.cls == "ambiguous":
            for flag in (*message.about, "all"):
                self.ambiguous[flag] += 1
                self.reached[flag] += outcome.kind in ("alert", "queue")
                self.queued[flag] += outcome.kind == "queue"
            if outcome.kind != "queue":
                self.misses.append(_miss(message, outcome, "not queued"))
        else:
            self.benign += 1
            self.false_alerts += alerted
            if alerted:
                self.misses.append(_miss(message, outcome, "false alert"))
        if message.cls != "benign" and outcome.kind == "benign":
            self.lost += 1

    @property
    def recall(self) -> float:
        return _ratio(self.clear_hit["all"], self.clear["all"])

    @property
    def reach(self) -> float:
        return _ratio(self.reached["all"], self.ambiguous["all"])

    @property
    def false_alert_rate(self) -> float:
        return _ratio(self.false_alerts, self.benign)

    def lines(self, title: str) -> list[str]:
        out = [
            f"{title}: {self.messages} messages",
            f"  recall on clear red flags   {self.clear_hit['all']}/{self.clear['all']}"
            f" = {self.recall:.1%}",
            f"  reach on ambiguous          {self.reached['all']}/{self.ambiguous['all']}"
            f" = {self.reach:.1%} (to the queue, not alerting: {self.queued['all']})",
            f"  alerts on ambiguous         {self.reached['all'] - self.queued['all']}"
            " (a red flag scoped out or unclear, alerted on anyway)",
            f"  false alerts on benign      {self.false_alerts}/{self.benign}"
            f" = {self.false_alert_rate:.1%}",
            f"  lost (red flag not seen)    {self.lost}",
            "  per red flag: recall (clear) | reach, queued (ambiguous)",
        ]
        for flag in sorted((set(self.clear) | set(self.ambiguous)) - {"all"}):
            out.append(
                f"    {flag:<22} {self.clear_hit[flag]:>3}/{self.clear[flag]:<3}"
                f" | {self.reached[flag]:>3}/{self.ambiguous[flag]:<3} {self.queued[flag]:>3}"
            )
        return out


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 1.0


def _miss(message: Message, outcome: Outcome, what: str) -> str:
    wanted = ",".join(message.flags) or message.reason or "benign"
    got = ",".join(outcome.flags) or outcome.reason or "-"
    outcome_text = f"{outcome.kind}:{got}"
    return f"{what:<12} {message.id:<7} want {wanted:<24} got {outcome_text:<26} {message.text!r}"


@dataclass
class Scores:
    """The original set, the messages added after tuning (held out), and all."""

    original: Figures = field(default_factory=Figures)
    added: Figures = field(default_factory=Figures)
    whole: Figures = field(default_factory=Figures)

    def report(self, misses: bool = True) -> str:
        lines = [*self.original.lines("original set (written before tuning)"), ""]
        lines += [*self.added.lines("added after tuning (held out, run once committed)"), ""]
        lines += self.whole.lines("whole set")
        if misses and self.whole.misses:
            lines += ["", "misses (whole set):", *(f"  {m}" for m in self.whole.misses)]
        return "\n".join(lines)


def score(messages: Iterable[Message], outcome_of: Callable[[Message], Outcome]) -> Scores:
    """Figures for the original set, the added set and the whole set."""
    scores = Scores()
    for message in messages:
        outcome = outcome_of(message)
        scores.whole.add(message, outcome)
        (scores.original if message.original else scores.added).add(message, outcome)
    return scores
