"""The event model: what an event is once it is inside Pertinent."""

from pertinent.events.model import Event, EventType, LoggedEvent

__all__ = ["Event", "EventType", "LoggedEvent"]
