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
    assert queue.next(done=None) == "+56911111111"
    assert queue.next(done="+56911111111") == "+56922222222"
    assert queue.next(done="+56922222222") is None  # the reader has stopped ...
    assert queue.offer("+56933333333") is True  # ... so the next offer reads


def test_no_number_is_dropped_between_threads() -> None:
    queue = InboxQueue()
    read: list[str] = []

    def webhook(n: int) -> None:
        if queue.offer(f"+5699{n:07d}"):
            number = None
            while (number := queue.next(done=number)) is not None:
                read.append(number)

    threads = [threading.Thread(target=webhook, args=(n,)) for n in range(200)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(read) == sorted(f"+5699{n:07d}" for n in range(200))


def test_two_readers_never_hold_one_number() -> None:
    """On PostgreSQL two readers a process: a number offered again while one reader
    holds it waits for that reader, which takes it up again when it gives it back."""
    queue = InboxQueue()
    a, b = "+56911111111", "+56922222222"
    assert queue.offer(a, readers=2) is True  # first reader
    assert queue.offer(b, readers=2) is True  # second reader
    assert queue.offer(a, readers=2) is False  # two read already
    first = queue.next(done=None)
    assert first == a
    queue.again(a)  # more pending behind a's first message ... (a is in line twice: once)
    assert queue.next(done=None) == b  # ... the second reader skips a, held by the first
    assert queue.next(done=b) is None  # a is still held: the second reader stops
    assert queue.next(done=a) == a  # the first gives a back and takes it up again
    assert queue.next(done=a) is None
    assert queue.offer(b, readers=2) is True  # nobody reads now


def test_a_reader_stopped_by_an_exception_gives_back_its_number() -> None:
    queue = InboxQueue()
    number = "+56911111111"
    assert queue.offer(number) is True
    assert queue.next(done=None) == number
    queue.quit(number)
    assert queue.offer(number) is True  # read again by the next offer
    assert queue.next(done=None) == number
