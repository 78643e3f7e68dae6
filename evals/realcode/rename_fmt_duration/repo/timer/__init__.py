from timer.formatting import fmt_duration
from timer.stopwatch import Stopwatch

__all__ = ["Stopwatch", "fmt_duration"]
