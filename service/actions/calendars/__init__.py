"""A participant's visit calendar: the protocol, their anchor dates, recorded outcomes
and today, in their own time zone.

Its own package because both sides of the house read it: the outbox's planner
(reminders follow the calendar) and the participant's pages, the API, the app and
the iCalendar feed (which show it). It uses no other subject package.
"""

from service.actions.calendars._calendar import (
    CalendarRow,
    calendar_for,
    calendar_sequences,
    calendar_with_status,
    latest_outcomes,
    latest_outcomes_of,
    local_today,
)

__all__ = [
    "CalendarRow",
    "calendar_for",
    "calendar_sequences",
    "calendar_with_status",
    "latest_outcomes",
    "latest_outcomes_of",
    "local_today",
]
