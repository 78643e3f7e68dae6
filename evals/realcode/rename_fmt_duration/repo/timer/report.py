from timer import formatting


def report(stopwatch):
    lines = [f"lap {i}: {formatting.fmt_duration(t)}" for i, t in enumerate(stopwatch.laps, 1)]
    lines.append(f"total: {formatting.fmt_duration(sum(stopwatch.laps))}")
    return "\n".join(lines)
