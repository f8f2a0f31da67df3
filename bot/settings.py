"""All of cxbot's configuration, read from the environment (or a .env file) in one place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.logs import LogFormat, LogLevel
from storage.db import DEFAULT_DATABASE_URL
from surveys.schedule import check_zone


class Settings(BaseSettings):
    """Every setting is documented in the README's table; keep the two in step."""

    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", populate_by_name=True, frozen=True
    )

    database_url: str = Field(DEFAULT_DATABASE_URL, alias="DATABASE_URL")
    redis_url: str | None = Field(None, alias="REDIS_URL")
    redis_prefix: str = Field("cxbot", alias="CXBOT_REDIS_PREFIX", min_length=1)
    redis_max_connections: int = Field(50, alias="CXBOT_REDIS_MAX_CONNECTIONS", ge=2, le=10_000)
    # Incoming updates and events answered at once; more wait their turn (nothing is refused).
    handling_concurrency: int = Field(32, alias="CXBOT_HANDLING_CONCURRENCY", ge=1, le=1000)

    http_host: str = Field("0.0.0.0", alias="CXBOT_HTTP_HOST")
    http_port: int = Field(8080, alias="CXBOT_HTTP_PORT", ge=0, le=65535)
    api_token: SecretStr | None = Field(None, alias="CXBOT_API_TOKEN")
    metrics_token: SecretStr | None = Field(None, alias="CXBOT_METRICS_TOKEN")
    worker_http_port: int | None = Field(None, alias="CXBOT_WORKER_HTTP_PORT", ge=0, le=65535)
    surveys_dir: Path | None = Field(None, alias="CXBOT_SURVEYS_DIR")
    log_level: LogLevel = Field("INFO", alias="CXBOT_LOG_LEVEL")
    log_format: LogFormat = Field("text", alias="CXBOT_LOG_FORMAT")
    send_attempts: int = Field(5, alias="CXBOT_SEND_ATTEMPTS", ge=1, le=50)
    max_retry_after: float = Field(300.0, alias="CXBOT_MAX_RETRY_AFTER", gt=0)
    delivery_poll_seconds: float = Field(2.0, alias="CXBOT_DELIVERY_POLL_SECONDS", gt=0)

    # Triggers (rules, events in) and delivery.
    rules_path: Path | None = Field(None, alias="CXBOT_RULES")
    hmac_secret: SecretStr | None = Field(None, alias="CXBOT_HMAC_SECRET")
    hmac_allow_untimed: bool = Field(False, alias="CXBOT_HMAC_ALLOW_UNTIMED")
    zendesk_webhook_secret: SecretStr | None = Field(None, alias="ZENDESK_WEBHOOK_SECRET")
    chatwoot_webhook_secret: SecretStr | None = Field(None, alias="CHATWOOT_WEBHOOK_SECRET")

    # Help desks' APIs: answers written back to their cases (each on when its URL and
    # credentials are set).
    zendesk_url: str | None = Field(None, alias="ZENDESK_URL")
    zendesk_email: str | None = Field(None, alias="ZENDESK_EMAIL")
    zendesk_api_token: SecretStr | None = Field(None, alias="ZENDESK_API_TOKEN")
    zendesk_score_field: int | None = Field(None, alias="ZENDESK_SCORE_FIELD", ge=1)
    freshdesk_url: str | None = Field(None, alias="FRESHDESK_URL")
    freshdesk_api_key: SecretStr | None = Field(None, alias="FRESHDESK_API_KEY")
    freshdesk_score_field: str | None = Field(None, alias="FRESHDESK_SCORE_FIELD")
    chatwoot_url: str | None = Field(None, alias="CHATWOOT_URL")
    chatwoot_api_token: SecretStr | None = Field(None, alias="CHATWOOT_API_TOKEN")
    chatwoot_account_id: str | None = Field(None, alias="CHATWOOT_ACCOUNT_ID")
    helpdesk_write_rate: str = Field("100/minute", alias="CXBOT_HELPDESK_WRITE_RATE")
    chatwoot_score_attribute: str = Field(
        "cxbot_score", alias="CHATWOOT_SCORE_ATTRIBUTE", min_length=1
    )
    embedded_worker: bool = Field(True, alias="CXBOT_EMBEDDED_WORKER")
    worker_concurrency: int = Field(10, alias="CXBOT_WORKER_CONCURRENCY", ge=1, le=200)
    telegram_rate: str = Field("30/second", alias="CXBOT_TELEGRAM_RATE")
    telegram_chat_rate: str = Field("1/second", alias="CXBOT_TELEGRAM_CHAT_RATE")
    slack_rate: str = Field("20/second", alias="CXBOT_SLACK_RATE")
    slack_channel_rate: str = Field("1/second", alias="CXBOT_SLACK_CHANNEL_RATE")

    # Results for admins: access, alerts, privacy.
    admins: str = Field("", alias="CXBOT_ADMINS")
    alert_telegram_chat: str | None = Field(None, alias="CXBOT_ALERT_TELEGRAM_CHAT")
    alert_slack_channel: str | None = Field(None, alias="CXBOT_ALERT_SLACK_CHANNEL")
    alert_nps_max: int = Field(6, alias="CXBOT_ALERT_NPS_MAX", ge=0, le=10)
    alert_csat_max: int = Field(2, alias="CXBOT_ALERT_CSAT_MAX", ge=1, le=5)
    alert_ces_max: int = Field(3, alias="CXBOT_ALERT_CES_MAX", ge=1, le=7)
    retention_days: int | None = Field(None, alias="CXBOT_RETENTION_DAYS", ge=1)
    report_min_n: int = Field(30, alias="CXBOT_REPORT_MIN_N", ge=1)
    report_timezone: str = Field("UTC", alias="CXBOT_REPORT_TIMEZONE")
    agents: str = Field("", alias="CXBOT_AGENTS")

    telegram_bot_token: SecretStr | None = Field(None, alias="TELEGRAM_BOT_TOKEN")
    telegram_bot_username: str | None = Field(
        None, alias="TELEGRAM_BOT_USERNAME", pattern=r"^@?[A-Za-z][A-Za-z0-9_]{3,31}$"
    )
    telegram_api_url: str = Field("https://api.telegram.org", alias="TELEGRAM_API_URL")
    telegram_webhook_url: str | None = Field(None, alias="TELEGRAM_WEBHOOK_URL")
    telegram_webhook_secret: SecretStr | None = Field(None, alias="TELEGRAM_WEBHOOK_SECRET")

    slack_bot_token: SecretStr | None = Field(None, alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(None, alias="SLACK_SIGNING_SECRET")
    slack_api_url: str = Field("https://slack.com/api/", alias="SLACK_API_URL")
    slack_app_token: SecretStr | None = Field(None, alias="SLACK_APP_TOKEN")

    @field_validator(
        "redis_url",
        "api_token",
        "metrics_token",
        "worker_http_port",
        "surveys_dir",
        "rules_path",
        "hmac_secret",
        "zendesk_webhook_secret",
        "chatwoot_webhook_secret",
        "zendesk_url",
        "zendesk_email",
        "zendesk_api_token",
        "zendesk_score_field",
        "freshdesk_url",
        "freshdesk_api_key",
        "freshdesk_score_field",
        "chatwoot_url",
        "chatwoot_api_token",
        "chatwoot_account_id",
        "alert_telegram_chat",
        "alert_slack_channel",
        "retention_days",
        "telegram_bot_token",
        "telegram_bot_username",
        "telegram_webhook_url",
        "telegram_webhook_secret",
        "slack_bot_token",
        "slack_signing_secret",
        "slack_app_token",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        # docker-compose and shells often pass VAR= for "not set".
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator(
        "telegram_rate",
        "telegram_chat_rate",
        "slack_rate",
        "slack_channel_rate",
        "helpdesk_write_rate",
    )
    @classmethod
    def _rate_lets_something_through(cls, value: str) -> str:
        # "0/second" reads as a rate, and then nothing is ever sent, silently. A rate that
        # does not read at all is refused where it is parsed (InvalidRate, naming it too).
        import limits

        try:
            amount = limits.parse(value).amount
        except ValueError:
            return value
        if amount < 1:
            raise ValueError(f"{value!r} lets nothing through: give at least 1, e.g. 1/second")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_in_any_case(cls, value: Any) -> Any:
        # `info` is INFO, blank the default; an unknown level is refused here, not by a
        # traceback from logging at start.
        if isinstance(value, str):
            return value.strip().upper() or "INFO"
        return value

    @field_validator("agents")
    @classmethod
    def _agents(cls, value: str) -> str:
        from bot.agents.directory import AgentDirectory

        AgentDirectory.parse(value)  # an InvalidAgents (a ValueError) names the bad entry
        return value

    @field_validator("report_timezone")
    @classmethod
    def _report_zone(cls, value: str) -> str:
        return check_zone(value.strip() or "UTC")

    @field_validator("telegram_api_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("slack_api_url")
    @classmethod
    def _end_slash(cls, value: str) -> str:
        # slack_sdk appends the method name to base_url as it is.
        return value.rstrip("/") + "/"
