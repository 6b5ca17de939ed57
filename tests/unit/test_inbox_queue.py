"""One reader a process for the inbox: the first to offer a number reads, the others
leave theirs; the reader stops only when nothing is left, so no number is dropped."""

from __future__ import annotations

import threading

from service.runtime import InboxQueue


def test_the_first_offer_reads_and_later_offers_are_left_for_it() -> None:
    queue = InboxQueue()
    assert queue.offer("+56911111111") is True
    assert queue.offer("+56922222222") is False
    assert queue.offer("+56911111111") is False  # already waiting: read once
    assert queue.next() == "+56911111111"
    assert queue.next() == "+56922222222"
    assert queue.next() is None  # the reader has stopped ...
    assert queue.offer("+56933333333") is True  # ... so the next offer reads


def test_no_number_is_dropped_between_threads() -> None:
    queue = InboxQueue()
    read: list[str] = []

    def webhook(n: int) -> None:
        if queue.offer(f"+5699{n:07d}"):
            while (number := queue.next()) is not None:
                read.append(number)

    threads = [threading.Thread(target=webhook, args=(n,)) for n in range(200)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(read) == sorted(f"+5699{n:07d}" for n in range(200))
