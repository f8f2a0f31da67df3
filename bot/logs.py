"""Log lines for people (text, the default) or for log collectors (one JSON object per line)."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Literal

LogFormat = Literal["text", "json"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Libraries that write a line per update or per job at INFO.
QUIET_LOGGERS = ("aiogram.event", "procrastinate")

# Control characters and line separators, written as escapes in a text line: a message quotes
# what senders wrote (a case id, a help desk's field), and a line break in it would otherwise
# start a forged log line.
_ESCAPES = {
    code: (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    for code in (*range(0x20), 0x7F, 0x85, 0x2028, 0x2029)
    if code != 0x09
}
_ESCAPES.update({0x0A: "\\n", 0x0D: "\\r"})


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message``, the message on one line; a traceback follows it as is."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        message = record.message
        record.message = message.translate(_ESCAPES)
        try:
            return super().formatMessage(record)
        finally:
            record.message = message


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "message"}`` and ``"exc"`` (the traceback) when there is one.

    ``ts`` is UTC in ISO 8601 with milliseconds; the traceback's line breaks stay inside the JSON
    string, so one record is always one line.
    """

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC)
        line: dict[str, object] = {
            "ts": stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(level: str, log_format: LogFormat) -> None:
    """Send every record at ``level`` and above to stderr in ``log_format``, once per process."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
