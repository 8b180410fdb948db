"""DatetimeBasedCursor ``clamping``: airbyte-cdk 7.39.1's ClampingStrategy (streams/concurrent/clamping.py).

``clamping: {target: DAY | WEEK | MONTH, target_details: {weekday: MONDAY}}`` (the target may be a
template reading the config) moves slice boundaries onto the start of a day, a week (that weekday) or
a month: a ceiling for the slices, a floor for the end (``ClampingEndProvider``: the floor of the end,
less ``cursor_granularity``, or one second for DAY, one day for WEEK and MONTH).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from source_solidafy.manifest.pyd import BaseModel, ConfigDict

WEEKDAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
TARGETS = ("DAY", "WEEK", "MONTH")


class Clamp(BaseModel):
    """One evaluated clamping: its target and, for WEEK, the weekday (0 = Monday)."""

    # With pydantic (not a cache hit's light models), its validator is built on the first clamping
    # made, not at import: every Airbyte manifest load imports this module, few manifests clamp.
    model_config = ConfigDict(frozen=True, defer_build=True)

    target: Literal["DAY", "WEEK", "MONTH"]
    weekday: int = 0

    def clamp(self, value: dt.datetime, ceiling: bool = True) -> dt.datetime:
        """The CDK's ``clamp`` (``is_ceiling``): the start of the day, week or month on or after
        ``value`` (on or before it without ``ceiling``)."""
        day = value.replace(hour=0, minute=0, second=0, microsecond=0)
        if self.target == "DAY":
            return day + dt.timedelta(days=1) if ceiling and day != value else day
        if self.target == "MONTH":
            if value.day == 1:
                return day
            if not ceiling:
                return day.replace(day=1)
            return day.replace(year=day.year + (day.month == 12), month=day.month % 12 + 1, day=1)
        wd = value.weekday()
        ahead = 7 - (wd - self.weekday) if wd > self.weekday else abs(wd - self.weekday)
        return day + dt.timedelta(days=ahead if ceiling or ahead == 0 else ahead - 7)

    def end(self, value: dt.datetime, granularity: dt.timedelta | None) -> dt.datetime:
        """The CDK's ClampingEndProvider: the floor of the end less the granularity."""
        default = dt.timedelta(seconds=1) if self.target == "DAY" else dt.timedelta(days=1)
        return self.clamp(value, ceiling=False) - (granularity or default)


def clamp_of(target: str, weekday: str | None) -> Clamp:
    """The evaluated target (and ``target_details.weekday``) as a :class:`Clamp`; ValueError with the
    CDK's words for a target or weekday it refuses."""
    if target == "WEEK":
        if weekday is None:
            raise ValueError("Given WEEK clamping, weekday needs to be provided as target_details")
        if weekday not in WEEKDAYS:
            raise ValueError(f"Unknown weekday {weekday}")
        return Clamp(target="WEEK", weekday=WEEKDAYS.index(weekday))
    if target not in TARGETS:
        raise ValueError(f"Invalid clamping target {target}, expected DAY, WEEK, MONTH")
    return Clamp(target=target)  # type: ignore[arg-type]
