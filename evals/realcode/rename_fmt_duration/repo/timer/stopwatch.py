import time

from timer.formatting import fmt_duration


class Stopwatch:
    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.laps = []
        self.start = clock()

    def lap(self):
        now = self.clock()
        self.laps.append(now - self.start)
        self.start = now
        return fmt_duration(self.laps[-1])
