"""Delivery of invitations, reminders and expiries through a job queue."""

from bot.delivery.errors import DeliveryError, InvalidRate, WorkerNeedsPostgres
from bot.delivery.service import Delivery, open_delivery

__all__ = ["Delivery", "DeliveryError", "InvalidRate", "WorkerNeedsPostgres", "open_delivery"]
