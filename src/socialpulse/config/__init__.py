"""Settings, read from the environment (prefix ``SOCIALPULSE_``) or a ``.env`` file.

Switching from the embedded default to a scaled-out deployment is a matter of these values
only: a Spark master URL, a PostgreSQL DSN, an ``s3a://`` lake path, another sentiment backend.

The values are grouped in sections (``settings.spark.master``, ``settings.sentiment.backend``,
...), and each package receives only its own. The environment keeps one flat name per value,
``SOCIALPULSE_`` + the section's prefix + the field (``SOCIALPULSE_SPARK_MASTER``), or for a few
fields their historical name (``SOCIALPULSE_HF_TOKEN``, ``SOCIALPULSE_ALS_RANK``):
:data:`FLAT_NAMES` lists them all. ``Settings(...)`` and ``model_copy(update=...)`` take those
flat names too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

from pydantic import Field, SecretStr, create_model
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from socialpulse.config.base import (
    ClusteringName,
    LdaOptimizer,
    RateLimiterName,
    SentimentBackendName,
    SinkName,
    SourceName,
    TopicModelName,
    _Section,
)
from socialpulse.config.pipeline import (
    SentimentSettings,
    SparkSettings,
    StorageSettings,
    StreamSettings,
)
from socialpulse.config.serving import (
    ApiSettings,
    DashboardSettings,
    IngestSettings,
    RecommendSettings,
    TopicsSettings,
)

__all__ = [
    "FLAT_NAMES",
    "LEGACY_FLAT_NAMES",
    "SECTIONS",
    "ApiSettings",
    "ClusteringName",
    "DashboardSettings",
    "IngestSettings",
    "LdaOptimizer",
    "RateLimiterName",
    "RecommendSettings",
    "SentimentBackendName",
    "SentimentSettings",
    "Settings",
    "SinkName",
    "SourceName",
    "SparkSettings",
    "StorageSettings",
    "StreamSettings",
    "TopicModelName",
    "TopicsSettings",
    "env_secret",
    "nest_flat",
]


class Settings(BaseSettings):
    """All runtime configuration. Build it once in a composition root and pass each part down."""

    model_config = SettingsConfigDict(
        env_prefix="SOCIALPULSE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    storage: StorageSettings = Field(default_factory=StorageSettings)
    spark: SparkSettings = Field(default_factory=SparkSettings)
    stream: StreamSettings = Field(default_factory=StreamSettings)
    sentiment: SentimentSettings = Field(default_factory=SentimentSettings)
    recommend: RecommendSettings = Field(default_factory=RecommendSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    dashboard: DashboardSettings = Field(default_factory=DashboardSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    topics: TopicsSettings = Field(default_factory=TopicsSettings)

    def __init__(self, **values: Any) -> None:
        """Build from the environment; keyword values (flat names or sections) win."""
        super().__init__(**nest_flat(values))

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword values, then the flat environment variables, then the flat ``.env`` lines."""
        assert isinstance(env_settings, EnvSettingsSource)
        assert isinstance(dotenv_settings, DotEnvSettingsSource)
        env = EnvSettingsSource(
            _FLAT_VIEW,
            case_sensitive=env_settings.case_sensitive,
            env_prefix=env_settings.env_prefix,
        )
        dotenv = DotEnvSettingsSource(
            _FLAT_VIEW,
            env_file=dotenv_settings.env_file,
            env_file_encoding=dotenv_settings.env_file_encoding,
            case_sensitive=dotenv_settings.case_sensitive,
            env_prefix=dotenv_settings.env_prefix,
        )
        return (
            init_settings,
            _NestedSource(settings_cls, env),
            _NestedSource(settings_cls, dotenv),
            file_secret_settings,
        )

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy with ``update`` applied; flat names go to their sections (not re-validated)."""
        nested = nest_flat(dict(update or {}))
        sections = {k: v for k, v in nested.items() if k in SECTIONS and isinstance(v, dict)}
        rest = {k: v for k, v in nested.items() if k not in sections}
        copy = super().model_copy(update=rest, deep=deep)
        for name, changes in sections.items():
            setattr(copy, name, getattr(copy, name).model_copy(update=changes))
        return copy


SECTIONS: dict[str, type[_Section]] = {
    "storage": StorageSettings,
    "spark": SparkSettings,
    "stream": StreamSettings,
    "sentiment": SentimentSettings,
    "recommend": RecommendSettings,
    "api": ApiSettings,
    "dashboard": DashboardSettings,
    "ingest": IngestSettings,
    "topics": TopicsSettings,
}
"""Settings' sections by attribute name."""

LEGACY_FLAT_NAMES: dict[str, tuple[str, str]] = {
    "recommend_topic_als_weight": ("recommend", "hashtag_als_weight"),
    "recommend_topic_sentiment_weight": ("recommend", "hashtag_sentiment_weight"),
}
"""Documented flat names of renamed fields: still read (the new name wins when both are set)."""

FLAT_NAMES: dict[str, tuple[str, str]] = {
    # Legacy names first: a later flat name overrides an earlier one in nest_flat.
    **LEGACY_FLAT_NAMES,
    **{
        section_cls.env_name(field): (section, field)
        for section, section_cls in SECTIONS.items()
        for field in section_cls.model_fields
    },
}
"""Each flat name (``SOCIALPULSE_`` + it, lower case, is the variable) -> (section, field)."""


def nest_flat(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` with flat names (``spark_master``) moved into their sections."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in FLAT_NAMES:
            out[key] = value.model_dump() if isinstance(value, _Section) else value
            continue
        section, field = FLAT_NAMES[key]
        target = out.setdefault(section, {})
        if isinstance(target, _Section):
            target = out[section] = target.model_dump()
        target[field] = value
    return out


class _FlatBase(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SOCIALPULSE_", extra="ignore")


# A flat model that is never built: pydantic-settings' own sources read the flat variables
# from it (case, JSON for dict/list values, .env parsing exactly as before the sections).
_FLAT_FIELDS: dict[str, Any] = {
    flat: (SECTIONS[section].model_fields[field].annotation | None, None)  # type: ignore[operator]
    for flat, (section, field) in FLAT_NAMES.items()
}
_FLAT_VIEW: type[BaseSettings] = create_model("_FlatView", __base__=_FlatBase, **_FLAT_FIELDS)


class _NestedSource(PydanticBaseSettingsSource):
    """A flat source's values, moved into their sections."""

    def __init__(self, settings_cls: type[BaseSettings], flat: PydanticBaseSettingsSource):
        super().__init__(settings_cls)
        self._flat = flat

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        """Unused: :meth:`__call__` reads every value at once."""
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        """The flat values present, nested; names no section knows are left out."""
        return nest_flat({k: v for k, v in self._flat().items() if k in FLAT_NAMES})


def env_secret(flat_name: str) -> SecretStr | None:
    """A secret read where the code runs (a Spark executor): the variable, else ``./.env``.

    Spark tasks never carry secrets; a backend that needs one on an executor reads it here.
    """
    for source in (
        EnvSettingsSource(_FLAT_VIEW),
        DotEnvSettingsSource(_FLAT_VIEW, env_file=".env"),
    ):
        value = source().get(flat_name)
        if value:
            return value if isinstance(value, SecretStr) else SecretStr(str(value))
    return None
