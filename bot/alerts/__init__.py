"""Detractor alerts: post unhappy answers to the team chat, record who follows them up."""

from bot.alerts.board import AlertBoard, Posted
from bot.alerts.errors import AlertError, AlertNotDelivered, AlertsNotConfigured
from bot.alerts.listing import followups_text
from bot.alerts.service import DetractorAlerts
from bot.alerts.thresholds import Thresholds, raises_alert
from bot.alerts.view import AlertView, FollowupAction, Staff, pack_button, unpack_button

__all__ = [
    "AlertBoard",
    "AlertError",
    "AlertNotDelivered",
    "AlertView",
    "AlertsNotConfigured",
    "DetractorAlerts",
    "FollowupAction",
    "Posted",
    "Staff",
    "Thresholds",
    "followups_text",
    "pack_button",
    "raises_alert",
    "unpack_button",
]
