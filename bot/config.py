"""Settings: one table of environment variables, built once by the composition root and passed down."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

CommaList = Annotated[list[str], NoDecode]


class Settings(BaseSettings):
    """Every setting newsbrief reads. The README's settings table is generated from these fields."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # Storage
    database_url: str = Field("", description="SQLAlchemy URL; empty means SQLite at DATA_DIR/newsbrief.db")
    data_dir: Path = Field(Path("data"), description="folder for the SQLite database and other state")

    # Sources and fetching
    threads_file: Path | None = Field(
        None, description="threads TOML loaded on first start; default seeds/threads.toml"
    )
    sources_file: Path | None = Field(
        None, description="sources TOML loaded on first start; default seeds/sources.toml"
    )
    fetch_timeout: float = Field(20.0, description="seconds for one HTTP fetch, connect to last byte")
    fetch_max_bytes: int = Field(5_000_000, description="largest response body accepted, in bytes")
    fetch_max_redirects: int = Field(5, description="redirects followed per fetch")
    fetch_allowed_private_hosts: CommaList = Field(
        default_factory=list,
        description="hosts allowed to resolve to private or loopback addresses, comma-separated",
    )
    fetch_user_agent: str = Field(
        "newsbrief/0.1 (+https://github.com/newsbrief)", description="User-Agent header"
    )
    source_max_errors: int = Field(5, description="consecutive failures before a source is paused")
    ingest_interval: int = Field(900, description="seconds between checks of one source")
    max_sources: int = Field(500, description="most sources that may exist at once")
    feed_max_items: int = Field(
        200,
        ge=1,
        description="most entries taken from one feed per fetch, newest first; "
        "the source's health says when a fetch was cut",
    )
    source_min_interval: int = Field(
        300,
        description="seconds within which no source is fetched again, whoever asks; `ingest --force` overrides",
    )

    # Models
    llm_base_url: str = Field("", description="OpenAI-compatible endpoint; empty means offline summaries")
    llm_api_key: SecretStr = Field(SecretStr(""), description="API key for LLM_BASE_URL")
    llm_model: str = Field("gpt-4o-mini", description="chat model name")
    llm_timeout: float = Field(60.0, description="seconds for one LLM call")
    llm_max_retries: int = Field(2, description="retries of a failed LLM call, with backoff")
    llm_cooldown: float = Field(
        300.0,
        description="seconds the LLM endpoint is left alone after 3 failed calls in a row "
        "(briefs and answers go offline, marked, at once); 0 turns this off",
    )
    llm_daily_token_budget: int = Field(0, description="LLM tokens per day; 0 means no limit")
    embedder: Literal["local", "remote", "none"] = Field("local", description="sentence embedder")
    embedding_model: str = Field(
        "", description="endpoint embedding model; setting it selects the remote embedder"
    )

    # Questions
    qa_rate_limit: int = Field(10, description="questions per user per minute")

    # Chat platforms
    http_port: int = Field(8080, description="port of the web server (health, webhooks, Slack events)")
    telegram_bot_token: SecretStr = Field(SecretStr(""), description="Telegram bot token")
    telegram_base_url: str = Field("https://api.telegram.org/bot", description="Bot API base URL")
    telegram_base_file_url: str = Field(
        "https://api.telegram.org/file/bot", description="Bot API file base URL"
    )
    telegram_admin_ids: CommaList = Field(default_factory=list, description="Telegram admin user ids")
    telegram_webhook_url: str = Field("", description="public webhook URL; empty means long polling")
    telegram_webhook_secret: SecretStr = Field(SecretStr(""), description="secret token checked on webhooks")
    telegram_rate_limit: float = Field(25.0, description="messages per second across all chats")
    delivery_lease: float = Field(
        60.0, description="seconds a worker holds claimed deliveries; a dead worker's rows wait this long"
    )
    slack_bot_token: SecretStr = Field(SecretStr(""), description="Slack bot token (xoxb-)")
    slack_signing_secret: SecretStr = Field(SecretStr(""), description="Slack signing secret")
    slack_app_token: SecretStr = Field(SecretStr(""), description="Slack app token (xapp-) for Socket Mode")
    slack_api_url: str = Field("https://slack.com/api/", description="Slack Web API base URL")
    slack_admin_ids: CommaList = Field(default_factory=list, description="Slack admin user ids")

    # Reader control: alerts, digests, filters, the web pages
    alert_min_outlets: int = Field(
        2,
        description="independent outlets that corroborate a story for an instant alert (wire copies count once)",
    )
    alert_max_per_day: int = Field(
        10, description="instant alerts per subscription per local day; past it the rest wait for the brief"
    )
    alert_scan_interval: int = Field(
        10, description="seconds between checks for newly corroborated stories to alert"
    )
    weekly_max_stories: int = Field(7, description="stories in a weekly digest, top by importance")
    filter_max_words: int = Field(5, description="words per keyword filter term")
    filter_max_terms: int = Field(20, description="keyword filter terms per subscription")
    public_base_url: str = Field(
        "",
        description="public address of the web pages (briefs, stories, feeds); empty: no links in messages",
    )

    # Operations
    redis_url: str = Field(
        "", description="Redis for the per-bot send rate shared by all processes; empty: PostgreSQL"
    )
    log_level: str = Field("INFO", description="logging level")
    log_format: Literal["text", "json"] = Field("text", description="log line format")
    leader_timeout: float = Field(
        15.0,
        description="seconds within which another process takes over the scheduled jobs from a dead leader",
    )
    adapter_retry_max: float = Field(
        60.0, description="longest wait, in seconds, between attempts to reach a chat platform that is down"
    )

    @field_validator("fetch_allowed_private_hosts", "telegram_admin_ids", "slack_admin_ids", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'newsbrief.db'}"

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm_base_url)

    def secrets(self) -> list[str]:
        """The configured secret values, for masking and for tests that grep logs."""
        values = [getattr(self, name) for name in type(self).model_fields]
        return [v.get_secret_value() for v in values if isinstance(v, SecretStr) and v.get_secret_value()]

    def admin_ids(self, platform: str) -> list[str]:
        """The bot admins of `platform` (TELEGRAM_ADMIN_IDS, SLACK_ADMIN_IDS); none for any other."""
        return list(getattr(self, f"{platform}_admin_ids", []))

    def masked(self) -> dict[str, Any]:
        """Effective settings for display, secrets replaced by asterisks."""
        shown: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                value = "********" if value.get_secret_value() else ""
            elif isinstance(value, Path):
                value = str(value)
            shown[name.upper()] = value
        shown["DATABASE_URL"] = _mask_url_password(self.effective_database_url)
        return shown


def _mask_url_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # a malformed URL is shown without its credentials
        return url.split("@")[-1]
