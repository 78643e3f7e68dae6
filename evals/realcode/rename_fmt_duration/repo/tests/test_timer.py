import timer
from timer.report import report


def test_fmt_duration():
    assert timer.fmt_duration(12345) == "3h 25m 45s"
    assert timer.fmt_duration(59.6) == "1m 0s"


def test_stopwatch_report():
    ticks = iter([0, 30, 100])
    sw = timer.Stopwatch(clock=lambda: next(ticks))
    sw.lap()
    sw.lap()
    assert report(sw) == "lap 1: 30s\nlap 2: 1m 10s\ntotal: 1m 40s"
