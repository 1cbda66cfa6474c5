"""Settings in sections: every flat ``SOCIALPULSE_*`` name of the flat era still sets its value."""

from __future__ import annotations

import json
import pickle
import typing
from pathlib import Path
from typing import Any, Literal

import annotated_types
import pytest
from pydantic import SecretStr

from socialpulse.config import FLAT_NAMES, SECTIONS, RecommendSettings, Settings, env_secret
from socialpulse.processing.sentiment_step import BackendSpec

# The field names of the flat Settings before the sections, generated once with
#   git show main:src/socialpulse/config.py | grep -oP '^    \K[a-z_0-9]+(?=: )'
# Written out (not derived from the code under test) so that losing or renaming a variable
# fails here.
OLD_NAMES = [
    "data_dir",
    "database_url",
    "lake_uri",
    "spark_master",
    "spark_driver_memory",
    "spark_shuffle_partitions",
    "spark_arrow_batch_size",
    "spark_driver_host",
    "spark_executor_memory",
    "spark_executor_cores",
    "spark_cores_max",
    "spark_archives",
    "spark_executor_python",
    "spark_py_files",
    "spark_conf",
    "sentiment_backend",
    "sentiment_batch_size",
    "sentiment_cache",
    "sentiment_cache_path",
    "sentiment_threads",
    "sentiment_multilingual_backend",
    "sentiment_onnx_dir",
    "transformers_model",
    "transformers_device",
    "transformers_max_length",
    "transformers_batch_size",
    "hf_neutral_threshold",
    "hf_api_base_url",
    "hf_api_model",
    "hf_api_list_inputs",
    "hf_api_batch_size",
    "hf_api_concurrency",
    "hf_api_top_k",
    "hf_api_timeout_s",
    "hf_api_max_attempts",
    "hf_api_max_wait_s",
    "hf_api_backoff_s",
    "sentiment_remote_fallback",
    "sentiment_serve_host",
    "sentiment_serve_port",
    "sentiment_serve_max_inputs",
    "recommend_top_k",
    "als_rank",
    "als_reg_param",
    "als_alpha",
    "als_max_iter",
    "recommend_als_weight",
    "recommend_content_weight",
    "recommend_popularity_weight",
    "recommend_topic_als_weight",
    "recommend_author_weight",
    "recommend_topic_sentiment_weight",
    "recommend_negative_threshold",
    "recommend_negative_penalty",
    "recommend_recency_half_life_hours",
    "recommend_hashtag_vocabulary",
    "recommend_text_embedding",
    "recommend_text_dim",
    "recommend_text_weight",
    "recommend_max_candidates",
    "seed",
    "landing_dir",
    "checkpoint_dir",
    "stream_trigger_seconds",
    "stream_shuffle_partitions",
    "stream_adaptive_execution",
    "stream_max_files_per_trigger",
    "stream_watermark_seconds",
    "api_host",
    "api_port",
    "api_max_batch",
    "api_max_text_chars",
    "api_max_page_size",
    "api_auth_enabled",
    "api_rate_limit_per_minute",
    "api_rate_limit_burst",
    "api_rate_limiter",
    "api_cache_seconds",
    "api_workers",
    "api_key_cache_seconds",
    "api_cors_origins",
    "dashboard_api_url",
    "dashboard_host",
    "dashboard_port",
    "dashboard_refresh_s",
    "dashboard_timeout_s",
    "ingest_source",
    "ingest_sink",
    "x_api_base_url",
    "x_mock_url",
    "x_query",
    "x_max_results",
    "x_engagement_budget",
    "x_field_style",
    "x_timeout_s",
    "x_max_attempts",
    "x_poll_interval_s",
    "kafka_bootstrap_servers",
    "kafka_topic_posts",
    "kafka_topic_interactions",
    "kafka_topic_deadletter",
    "kafka_group_id",
    "lander_batch_size",
    "landing_orphan_grace_s",
    "x_bearer_token",
    "hf_token",
    "dashboard_api_key",
]


def _literals(annotation: Any) -> list[Any]:
    """Every value a Literal (or a union of Literals) allows; empty for other types."""
    if typing.get_origin(annotation) is Literal:
        return list(typing.get_args(annotation))
    return [v for arg in typing.get_args(annotation) for v in _literals(arg)]


def _bounds(metadata: list[Any]) -> tuple[float | None, float | None]:
    low = high = None
    for m in metadata:
        if isinstance(m, annotated_types.Ge | annotated_types.Gt):
            low = m.ge if isinstance(m, annotated_types.Ge) else m.gt
        if isinstance(m, annotated_types.Le | annotated_types.Lt):
            high = m.le if isinstance(m, annotated_types.Le) else m.lt
    return low, high  # type: ignore[return-value]


def _other_value(name: str) -> tuple[str, Any]:
    """A valid value unlike the default: (as the environment spells it, as parsed)."""
    section, field = FLAT_NAMES[name]
    info = SECTIONS[section].model_fields[field]
    annotation, default = info.annotation, info.get_default(call_default_factory=True)
    args = set(typing.get_args(annotation)) | {annotation}
    if list[int] in args:
        return json.dumps([default[0] + 1]), [default[0] + 1]
    if typing.get_origin(annotation) is list and (
        inner := _literals(typing.get_args(annotation)[0])
    ):
        return json.dumps([inner[-1]]), [inner[-1]]
    if choices := _literals(annotation):
        other = next(v for v in choices if v != default)
        return str(other), other
    if SecretStr in args:
        return f"secret-{name}", f"secret-{name}"
    if bool in args:
        return str(not default).lower(), not default
    if Path in args:
        return f"/tmp/socialpulse-{name}", Path(f"/tmp/socialpulse-{name}")
    if (int in args or float in args) and default is None:
        return "9109", 9109
    if int in args or float in args:
        step = 1 if int in args else 0.05
        low, high = _bounds(info.metadata)
        value = default + step if high is None or default + step <= high else default - step
        assert low is None or value >= low
        return str(value), value
    if dict[str, str] in args:
        return f'{{"spark.{name}": "on"}}', {f"spark.{name}": "on"}
    if list[str] in args:
        return f'["http://{name}.example"]', [f"http://{name}.example"]
    assert str in args, f"no test value for {name}: {annotation}"
    return f"value-of-{name}", f"value-of-{name}"


def _plain(value: Any) -> Any:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


# Flat names added since, for renamed fields (the old name keeps working next to the new one).
NEW_NAMES = {
    "recommend_hashtag_als_weight": "recommend_topic_als_weight",
    "recommend_hashtag_sentiment_weight": "recommend_topic_sentiment_weight",
}


# Flat names of fields added since (new settings, not renames).
ADDED_NAMES = [
    "topics_model",
    "topics_lda_topics",
    "topics_lda_optimizers",
    "topics_lda_max_iter",
    "topics_embedding_topics",
    "topics_embedding_clustering",
    "topics_embedding_max_iter",
    "topics_vocab_size",
    "topics_min_df",
    "topics_validation_fraction",
    "topics_seed",
    # Issue 21: API work bounds, slow clients, exposure.
    "api_analyze_max_chars",
    "api_analyze_chars_per_token",
    "api_analyze_timeout_s",
    "api_read_timeout_s",
    "api_keep_alive_s",
    "api_limit_concurrency",
    "api_metrics_access",
    "api_docs_access",
    "api_ready_access",
    "topics_model_dir",
    "topics_trending_window_days",
    "topics_trending_baseline_days",
    "topics_trending_prior",
    "recommend_topic_model_weight",
    # Issue 21: the lander's lag as metrics.
    "ingest_lander_metrics_port",
    "ingest_lander_metrics_host",
    "ingest_lander_lag_interval_s",
    # Issue 16: the embedding family's fit sample and centring.
    "topics_embedding_sample",
    "topics_embedding_center",
    # Issue 19: EASE beside ALS, and fit-predict's model choice.
    "recommend_ease_max_items",
    "recommend_ease_reg",
    "recommend_fit_predict_model",
    # Issue 19: fit-predict's small files scored on the driver.
    "recommend_fit_predict_local_pairs",
    # Issue 19: EASE co-engagement as a hybrid signal.
    "recommend_ease_weight",
    "recommend_ease_signal_max_items",
    # Issue 19: the driver JVM's class archive (fit-predict's start-up).
    "spark_class_archive",
    # Issues 19 and 20: the driver JVM's JIT (C1 alone as an opt-in).
    "spark_driver_jit",
    # Issue 20: a micro-batch's increments computed on the driver.
    "stream_driver_increments_rows",
    # Issue 20: the batch job's aggregate refresh on the driver.
    "spark_driver_aggregate_rows",
]
# A one-choice Literal has no other valid value to set (checked by the test after this list).
ONE_CHOICE: set[str] = set()


def test_the_flat_names_are_exactly_the_old_fields() -> None:
    assert sorted(FLAT_NAMES) == sorted([*OLD_NAMES, *NEW_NAMES, *ADDED_NAMES])
    assert len(OLD_NAMES) == 107
    for new, old in NEW_NAMES.items():
        assert FLAT_NAMES[new] == FLAT_NAMES[old]


def test_a_one_choice_literal_refuses_other_values(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ONE_CHOICE:
        monkeypatch.setenv(f"SOCIALPULSE_{name.upper()}", "no-such-choice")
        with pytest.raises(ValueError, match="no-such-choice"):
            Settings(_env_file=None)
        monkeypatch.delenv(f"SOCIALPULSE_{name.upper()}")


@pytest.mark.parametrize(
    "name", [*OLD_NAMES, *NEW_NAMES, *(n for n in ADDED_NAMES if n not in ONE_CHOICE)]
)
def test_every_old_variable_sets_the_same_value(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    raw, want = _other_value(name)
    default = Settings(_env_file=None)
    monkeypatch.setenv(f"SOCIALPULSE_{name.upper()}", raw)
    got = Settings(_env_file=None)
    section, field = FLAT_NAMES[name]
    assert _plain(getattr(getattr(got, section), field)) == want
    assert _plain(getattr(getattr(default, section), field)) != want
    # ... and nothing else moved.
    for other, (sec, fld) in FLAT_NAMES.items():
        if (sec, fld) != (section, field):
            assert _plain(getattr(getattr(got, sec), fld)) == _plain(
                getattr(getattr(default, sec), fld)
            ), other


def test_renamed_fields_take_old_and_new_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCIALPULSE_RECOMMEND_TOPIC_ALS_WEIGHT", "0.7")
    assert Settings(_env_file=None).recommend.hashtag_als_weight == 0.7
    # Both set: the new name wins.
    monkeypatch.setenv("SOCIALPULSE_RECOMMEND_HASHTAG_ALS_WEIGHT", "0.9")
    assert Settings(_env_file=None).recommend.hashtag_als_weight == 0.9
    # Old keyword names: flat on Settings, and on the section itself.
    old = Settings(recommend_topic_sentiment_weight=0.25, _env_file=None)
    assert old.recommend.hashtag_sentiment_weight == 0.25
    section = RecommendSettings(topic_als_weight=0.1, topic_sentiment_weight=0.2)
    assert (section.hashtag_als_weight, section.hashtag_sentiment_weight) == (0.1, 0.2)
    copy = old.model_copy(update={"recommend_topic_als_weight": 0.4})
    assert copy.recommend.hashtag_als_weight == 0.4


def test_lower_case_variables_work_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("socialpulse_spark_master", "local[3]")
    assert Settings(_env_file=None).spark.master == "local[3]"


def test_dotenv_file_keyword_values_and_precedence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "SOCIALPULSE_SPARK_MASTER=local[3]\nSOCIALPULSE_SENTIMENT_BACKEND=vader\n"
        'SOCIALPULSE_ALS_RANK=7\nSOCIALPULSE_SPARK_CONF={"spark.a": "b"}\n'
    )
    from_file = Settings(_env_file=env_file)
    assert from_file.spark.master == "local[3]"
    assert from_file.sentiment.backend == "vader"
    assert from_file.recommend.als_rank == 7
    assert from_file.spark.conf == {"spark.a": "b"}
    monkeypatch.setenv("SOCIALPULSE_ALS_RANK", "9")  # the environment beats the file
    assert Settings(_env_file=env_file).recommend.als_rank == 9
    # ... and keyword values (flat names or sections) beat both.
    assert Settings(_env_file=env_file, als_rank=11).recommend.als_rank == 11
    nested = Settings(_env_file=env_file, recommend={"als_rank": 12})
    assert nested.recommend.als_rank == 12
    assert nested.spark.master == "local[3]"


def test_model_copy_takes_flat_names_and_leaves_the_original() -> None:
    base = Settings(_env_file=None)
    copy = base.model_copy(update={"data_dir": Path("/tmp/x"), "api_auth_enabled": False})
    assert (copy.storage.data_dir, copy.api.auth_enabled) == (Path("/tmp/x"), False)
    assert (base.storage.data_dir, base.api.auth_enabled) == (Path("data"), True)


def test_invalid_values_name_the_variable_they_came_from(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCIALPULSE_SENTIMENT_BACKEND", "no-such-backend")
    with pytest.raises(ValueError, match=r"sentiment\.backend"):
        Settings(_env_file=None)


def test_secrets_stay_out_of_reprs_and_spark_tasks() -> None:
    settings = Settings(
        _env_file=None,
        hf_token="hf_topsecret",
        x_bearer_token="x_topsecret",
        dashboard_api_key="key_topsecret",
        database_url="postgresql+psycopg://u:pw_topsecret@127.0.0.1/db",
    )
    for text in (repr(settings), str(settings), repr(settings.sentiment)):
        assert "topsecret" not in text
    spec = BackendSpec.of("vader", settings)
    assert spec.sentiment.hf_token is None
    assert b"topsecret" not in pickle.dumps(spec)
    # Only the sentiment section travels: no storage, API or ingest settings.
    assert b"pw_" not in pickle.dumps(spec)
    with pytest.raises(ValueError, match="secrets"):
        BackendSpec("vader", settings.sentiment, spec.cache_path)


def test_env_secret_reads_the_environment_then_dotenv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SOCIALPULSE_HF_TOKEN", raising=False)
    assert env_secret("hf_token") is None
    (tmp_path / ".env").write_text("SOCIALPULSE_HF_TOKEN=from-file\n")
    assert str(_plain(env_secret("hf_token"))) == "from-file"
    monkeypatch.setenv("SOCIALPULSE_HF_TOKEN", "from-env")
    assert str(_plain(env_secret("hf_token"))) == "from-env"
