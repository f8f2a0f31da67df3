"""The terminal as a chat channel, for `cxbot demo`: same engine, same storage."""
