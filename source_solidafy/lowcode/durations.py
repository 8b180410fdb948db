"""ISO 8601 durations as the CDK reads them (``P1D``, ``PT0.000001S``, ``P1M``, ``P1Y2M10DT2H30M``).

Years and months are calendar steps (``P1M`` from Jan 31 is Feb 28/29); the rest is a timedelta.
:class:`Duration` adds to a datetime like isodate's Duration does.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

_ISO = re.compile(
    r"^P(?!$)(?:(?P<y>\d+(?:\.\d+)?)Y)?(?:(?P<mo>\d+(?:\.\d+)?)M)?(?:(?P<w>\d+(?:\.\d+)?)W)?"
    r"(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?=\d)(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<mi>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


@dataclass(frozen=True)
class Duration:
    """``months`` calendar months plus a fixed ``delta``."""

    months: int
    delta: dt.timedelta

    def __radd__(self, moment: dt.datetime) -> dt.datetime:
        return add(moment, self)

    def __rsub__(self, moment: dt.datetime) -> dt.datetime:
        return add(moment, Duration(-self.months, -self.delta))


def parse_duration(text: str) -> dt.timedelta | Duration:
    """A timedelta, or a :class:`Duration` when years or months are given; ValueError otherwise."""
    m = _ISO.match(str(text).strip())
    if not m:
        raise ValueError(f"expected an ISO 8601 duration such as P1D or PT1H, got {text!r}")
    g = {k: float(v) if v else 0.0 for k, v in m.groupdict().items()}
    delta = dt.timedelta(weeks=g["w"], days=g["d"], hours=g["h"], minutes=g["mi"], seconds=g["s"])
    months = g["y"] * 12 + g["mo"]
    if months:
        if months != int(months):
            raise ValueError(f"fractional months or years are not supported: {text!r}")
        return Duration(int(months), delta)
    return delta


def add(moment: dt.datetime, step: dt.timedelta | Duration) -> dt.datetime:
    """``moment + step``; months move the calendar month and clip the day (Jan 31 + P1M = Feb 28)."""
    if isinstance(step, dt.timedelta):
        return moment + step
    y, m = divmod(moment.month - 1 + step.months, 12)
    year, month = moment.year + y, m + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day) + step.delta
