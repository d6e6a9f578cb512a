"""Compare the local embedding candidates on one core: load time, speed, memory, cross-language quality.

Run: /work/.venv/bin/python bench/embedders.py [--fast]
Each candidate runs in its own child process (one core, BLAS and OpenMP at one thread), so load time is cold
and peak RSS is that model's alone. Quality uses tests/data/parallel_en.toml: Arabic seed headline+lead vs
English reports of the same event, against different events and off-topic English news.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import resource
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
PARALLEL = REPO / "tests" / "data" / "parallel_en.toml"
CANDIDATES = ("use-multilingual-v3", "multilingual-e5-small-q4")
PARAGRAPH_CHARS = 235
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
QUESTIONS = [
    "What did Lavrov say about North Korean troops in Kursk?",
    "ماذا قال لافروف عن الجنود الكوريين في كورسك؟",
    "How much non-oil trade did Saudi Arabia and Russia do in 2024?",
    "متى زار شويغو بيونغ يانغ؟",
]


@dataclass(frozen=True)
class Item:
    event: str
    thread: str
    lang: str  # "ar" | "en"
    offtopic: bool
    text: str


def seed_lines(seed: str) -> list[str]:
    """The stripped lines of seed file `seed` (e.g. "000")."""
    path = next(SEEDS.glob(f"{seed}_*.txt"))
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]


def arabic_text(seed: str, starts: list[str]) -> str:
    """The first seed line starting with each prefix, joined: the item's headline and lead."""
    lines = seed_lines(seed)
    return "\n".join(next(line for line in lines if line.startswith(prefix)) for prefix in starts)


def load_items(path: Path = PARALLEL) -> list[Item]:
    """Every Arabic and English item of the parallel file."""
    items: list[Item] = []
    for event in tomllib.loads(path.read_text(encoding="utf-8"))["event"]:
        off = event.get("kind") == "offtopic"
        for ar in event.get("arabic", []):
            items.append(Item(event["id"], event["thread"], "ar", off, arabic_text(ar["seed"], ar["starts"])))
        items.extend(Item(event["id"], event["thread"], "en", off, text) for text in event["english"])
    return items


def paragraphs(chars: int = PARAGRAPH_CHARS) -> list[str]:
    """The seed corpus cut at word boundaries into paragraphs of about `chars` characters."""
    words = re.sub(r"\s+", " ", " ".join(p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))))
    out, current = [], ""
    for word in words.split(" "):
        if current and len(current) + 1 + len(word) > chars:
            out.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    return out


# ---------- quality ----------


def _stats(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "min": min(values), "mean": sum(values) / len(values), "max": max(values)}


def quality(items: list[Item], sim: Any) -> dict[str, Any]:
    """Similarity groups, margins, ranking accuracy and best threshold for the similarity matrix `sim`."""
    groups: dict[str, list[float]] = {k: [] for k in ("x_same", "x_hard", "x_off", "aa_same", "aa_diff")}
    for i, j in itertools.combinations(range(len(items)), 2):
        a, b = items[i], items[j]
        if {a.lang, b.lang} == {"ar", "en"}:
            key = "x_same" if a.event == b.event else ("x_off" if (a.offtopic or b.offtopic) else "x_hard")
        elif a.lang == b.lang == "ar":
            key = "aa_same" if a.event == b.event else "aa_diff"
        else:
            continue
        groups[key].append(float(sim[i, j]))
    cross_neg = groups["x_hard"] + groups["x_off"]
    anchored = []
    for i, anchor in enumerate(items):
        if anchor.lang != "ar":
            continue
        en = [j for j, it in enumerate(items) if it.lang == "en"]
        pos = [sim[i, j] for j in en if items[j].event == anchor.event]
        neg = [sim[i, j] for j in en if items[j].event != anchor.event]
        anchored += [float(p > n) for p in pos for n in neg]
    positives = groups["x_same"] + groups["aa_same"]
    negatives = cross_neg + groups["aa_diff"]
    auc = sum(float(p > n) for p in positives for n in negatives) / (len(positives) * len(negatives))
    return {
        "groups": {k: _stats(v) for k, v in groups.items()},
        "margin_cross": min(groups["x_same"]) - max(cross_neg),
        "margin_cross_offtopic": min(groups["x_same"]) - max(groups["x_off"]),
        "margin_ar_ar": min(groups["aa_same"]) - max(groups["aa_diff"]),
        "ranking_accuracy": sum(anchored) / len(anchored),
        "auc_all_pairs": auc,
        **best_threshold(positives, negatives),
    }


def best_threshold(positives: list[float], negatives: list[float]) -> dict[str, float]:
    """The similarity cut with the best balanced accuracy (same event above, different below)."""
    best = (0.0, 0.0)
    for t in sorted(positives + negatives):
        tpr = sum(p >= t for p in positives) / len(positives)
        tnr = sum(n < t for n in negatives) / len(negatives)
        best = max(best, ((tpr + tnr) / 2, t))
    return {"best_threshold": best[1], "balanced_accuracy": best[0]}


# ---------- speed ----------


def rate(embed: Any, texts: list[str], batch: int) -> float:
    """Texts per second when `texts` go to `embed` in batches of `batch`."""
    started = time.perf_counter()
    for i in range(0, len(texts), batch):
        embed(texts[i : i + batch])
    return len(texts) / (time.perf_counter() - started)


def latencies_ms(embed: Any, texts: list[str], rounds: int) -> dict[str, float]:
    """p50 and p95 of embedding one short text."""
    samples = []
    for text in itertools.islice(itertools.cycle(texts), rounds):
        started = time.perf_counter()
        embed([text])
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {"p50": samples[len(samples) // 2], "p95": samples[int(len(samples) * 0.95) - 1]}


def float16_effect(embed: Any, corpus: list[str], queries: list[str], k: int = 10) -> dict[str, float]:
    """Top-k overlap and largest cosine change when stored vectors go through float16 blobs."""
    import numpy as np

    from bot.embed import cosine_top_k, from_blobs, to_blob

    matrix = embed(corpus)
    stored = from_blobs([to_blob(row) for row in matrix], matrix.shape[1])
    overlap, worst = [], 0.0
    for q in embed(queries):
        exact = {i for i, _ in cosine_top_k(q, matrix, k)}
        half = {i for i, _ in cosine_top_k(q, stored, k)}
        overlap.append(len(exact & half) / k)
        worst = max(worst, float(np.max(np.abs(matrix @ q - stored @ q))))
    return {"recall_at_k": sum(overlap) / len(overlap), "k": k, "max_abs_cosine_change": worst}


# ---------- one candidate, in its own process ----------


def _network_guard() -> list[str]:
    """Record every socket connect or DNS lookup the process attempts (none expected)."""
    seen: list[str] = []

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event in ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "urllib.Request"):
            seen.append(f"{event} {args[1:2]!r}")

    sys.addaudithook(hook)
    return seen


def worker(model: str, fast: bool) -> dict[str, Any]:
    """Measure one candidate; run in a child with one core and one thread."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    network = _network_guard()
    started = time.perf_counter()
    import numpy as np

    from bot.embed import LocalEmbedder

    embedder = LocalEmbedder(model=model)
    embedder.load()
    load_s = time.perf_counter() - started
    rss_loaded_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    paras = paragraphs()
    slow = model != CANDIDATES[0]
    n = (24 if slow else 120) if fast else (64 if slow else 400)
    sample = list(itertools.islice(itertools.cycle(paras), n))
    batches = (1, 16, 64) if slow else (1, 16, 64, 256)
    speed = {str(b): rate(embedder.embed, sample, b) for b in batches}

    items = load_items()
    leads = list(itertools.islice(itertools.cycle([it.text for it in items]), n))
    lead_rate = rate(embedder.embed, leads, 64)
    query_ms = latencies_ms(embedder.embed, QUESTIONS, 20 if fast else 60)

    vectors = embedder.embed([it.text for it in items])
    norms = np.linalg.norm(vectors, axis=1)
    f16 = float16_effect(embedder.embed, paras, [it.text for it in items] + QUESTIONS)
    return {
        "model": model,
        "dim": embedder.dim,
        "load_s": load_s,
        "rss_after_load_mb": rss_loaded_mb,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "paragraphs_per_s": speed,
        "mean_paragraph_chars": sum(map(len, sample)) / len(sample),
        "headline_lead_per_s": lead_rate,
        "mean_headline_lead_chars": sum(map(len, leads)) / len(leads),
        "query_ms": query_ms,
        "norm_range": [float(norms.min()), float(norms.max())],
        "quality": quality(items, vectors @ vectors.T),
        "float16": f16,
        "topk_ms": topk_latency(embedder.dim),
        "network_attempts": network,
    }


# ---------- report ----------


def topk_latency(dim: int, rows: int = 50_000, rounds: int = 50) -> dict[str, float]:
    """p50/p95 of cosine_top_k over `rows` random unit vectors, in ms."""
    import numpy as np

    from bot.embed import cosine_top_k, normalize_rows

    rng = np.random.default_rng(0)
    matrix = normalize_rows(rng.standard_normal((rows, dim), dtype=np.float32))
    samples = []
    for q in matrix[:rounds]:
        started = time.perf_counter()
        cosine_top_k(q, matrix, 20)
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {"p50": samples[len(samples) // 2], "p95": samples[int(len(samples) * 0.95) - 1]}


def show(r: dict[str, Any]) -> None:
    """Print one candidate's figures."""
    q = r["quality"]
    g = q["groups"]
    speeds = "  ".join(f"b{b}={v:.0f}" for b, v in r["paragraphs_per_s"].items())
    print(f"\n== {r['model']} (dim {r['dim']})")
    print(
        f"load {r['load_s']:.2f} s (import + weights, cold)   RSS after load {r['rss_after_load_mb']:.0f} MB"
    )
    print(f"peak RSS {r['peak_rss_mb']:.0f} MB   network attempts: {len(r['network_attempts'])}")
    print(f"paragraphs/s ({r['mean_paragraph_chars']:.0f} chars, one core): {speeds}")
    print(
        f"headline+lead/s ({r['mean_headline_lead_chars']:.0f} chars, batch 64):",
        f"{r['headline_lead_per_s']:.0f}",
    )
    print(f"one question: p50 {r['query_ms']['p50']:.1f} ms  p95 {r['query_ms']['p95']:.1f} ms", end="   ")
    print(
        f"cosine_top_k 50,000 rows k=20: p50 {r['topk_ms']['p50']:.1f} ms  p95 {r['topk_ms']['p95']:.1f} ms"
    )
    for key, label in (
        ("x_same", "ar-en same event"),
        ("x_hard", "ar-en other event, on-topic"),
        ("x_off", "ar-en off-topic news"),
        ("aa_same", "ar-ar same event"),
        ("aa_diff", "ar-ar other event"),
    ):
        s = g[key]
        print(f"  {label:30s} n={s['n']:3d}  min {s['min']:.3f}  mean {s['mean']:.3f}  max {s['max']:.3f}")
    print(
        f"margin ar-en {q['margin_cross']:+.3f} (vs off-topic only {q['margin_cross_offtopic']:+.3f})"
        f"   margin ar-ar {q['margin_ar_ar']:+.3f}"
    )
    print(
        "ranking accuracy (per Arabic anchor, same-event English above other English)",
        f"{q['ranking_accuracy']:.3f}   AUC all pairs {q['auc_all_pairs']:.3f}",
    )
    print(f"best threshold {q['best_threshold']:.3f} -> balanced accuracy {q['balanced_accuracy']:.3f}")
    f = r["float16"]
    print(
        f"float16 blobs: recall@{f['k']} {f['recall_at_k']:.3f},",
        f"max |cosine change| {f['max_abs_cosine_change']:.5f}",
    )


def main() -> None:
    """Run every candidate in a one-core child and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--worker", choices=CANDIDATES, help=argparse.SUPPRESS)
    parser.add_argument("--fast", action="store_true", help="fewer texts per measurement")
    parser.add_argument("--only", choices=CANDIDATES, help="measure one candidate")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.fast)))
        return
    env = {**os.environ, **ONE_THREAD}
    for model in [args.only] if args.only else CANDIDATES:
        cmd = [sys.executable, __file__, "--worker", model] + (["--fast"] if args.fast else [])
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
        show(json.loads(done.stdout.strip().splitlines()[-1]))


if __name__ == "__main__":
    main()
