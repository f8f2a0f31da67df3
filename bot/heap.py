"""Keeps the garbage collector's full passes off what lives as long as the process."""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Collect once, then move every object still alive to the permanent generation, which
    the collector no longer walks. Call once, when startup is done, never per request.

    A full collection walks every tracked object, and after startup that is some 370,000 of
    them (aiogram's and pydantic's types and schemas, mostly) that never become garbage: about
    0.2 s of CPU each time one runs, 12% of the answer path's CPU in bench/answers.py.
    """
    gc.collect()
    gc.freeze()
