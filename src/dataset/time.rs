//! CF time: units like `days since 2000-01-01`, calendars, datetime components.
