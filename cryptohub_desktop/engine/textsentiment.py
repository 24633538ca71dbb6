"""Text sentiment of headlines and posts: an offline lexicon model, an optional transformer.

The bundled model works with no download: VADER (``vaderSentiment`` ships its lexicon)
extended with crypto-market terms from ``resources/crypto_lexicon.json`` ("bullish",
"rekt", "rug pull", "etf approval" ...). Labels follow VADER's compound thresholds:
``>= 0.05`` positive, ``<= -0.05`` negative, neutral between; the score is the compound
value in -1..1.

When the optional ``transformers`` extra is installed *and* a CryptoBERT model
(``ElKulako/cryptobert`` or ``kk08/CryptoBERT``) is already in the local Hugging Face
cache, :func:`load_text_model` uses it (``local_files_only=True``: nothing is ever
downloaded). Any failure, at load or while scoring, is reported by
:meth:`TextSentiment.status` and the lexicon model takes over; it never crashes.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import re
from collections.abc import Callable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from cryptohub_desktop.core.records import sentiment_label

log = logging.getLogger("cryptohub.textsentiment")

LEXICON_NAME = "vader+crypto-lexicon"
TRANSFORMER_MODELS = ("ElKulako/cryptobert", "kk08/CryptoBERT")
MAX_CHARS = 2000  # long bodies are cut: the opening carries the tone, VADER stays fast

Classifier = Callable[[str], Any]


def crypto_terms() -> dict[str, float]:
    """The bundled crypto lexicon: term or phrase (lower case) -> VADER valence."""
    text = (
        resources.files("cryptohub_desktop.resources")
        .joinpath("crypto_lexicon.json")
        .read_text(encoding="utf-8")
    )
    terms = json.loads(text)["terms"]
    return {str(k).lower(): float(v) for k, v in terms.items()}


class _Lexicon:
    """VADER with the crypto terms; phrases are joined into one token before scoring."""

    def __init__(self, terms: dict[str, float]) -> None:
        self.vader = SentimentIntensityAnalyzer()
        phrases = sorted((t for t in terms if " " in t), key=len, reverse=True)
        for term, valence in terms.items():
            self.vader.lexicon[term.replace(" ", "_")] = valence
        self._phrase_re = (
            re.compile(
                r"\b(" + "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in phrases) + r")\b",
                re.IGNORECASE,
            )
            if phrases
            else None
        )

    def compound(self, text: str) -> float:
        if self._phrase_re is not None:
            text = self._phrase_re.sub(lambda m: "_".join(m.group(0).split()), text)
        return float(self.vader.polarity_scores(text)["compound"])


def _polarity(label: str, n_labels: int) -> int:
    """+1 / 0 / -1 for a classifier label (Bullish/Bearish/Neutral, POSITIVE, LABEL_2 ...)."""
    low = label.lower()
    if "bull" in low or low.startswith("pos"):
        return 1
    if "bear" in low or low.startswith("neg"):
        return -1
    if "neutral" in low:
        return 0
    match = re.fullmatch(r"label_(\d+)", low)
    if match:  # id order of CryptoBERT models: bearish/negative first, bullish/positive last
        idx = int(match.group(1))
        if idx == 0:
            return -1
        if idx == n_labels - 1:
            return 1
        return 0
    return 0


class TextSentiment:
    """The active text-sentiment model: ``score(text) -> (label, score)``.

    Args:
        classifier: an optional transformers text-classification pipeline
            (called with a text, returning label/score dicts for every label).
        classifier_name: the model id of ``classifier``.
        detail: why the transformer is or is not in use (shown by :meth:`status`).
    """

    def __init__(
        self, *, classifier: Classifier | None = None, classifier_name: str = "", detail: str = ""
    ) -> None:
        terms = crypto_terms()
        self._lexicon = _Lexicon(terms)
        self._term_count = len(terms)
        self._classifier = classifier
        self._classifier_name = classifier_name
        self._detail = detail or (
            "offline lexicon model (VADER + crypto terms)"
            if classifier is None
            else f"transformer {classifier_name}"
        )

    @property
    def name(self) -> str:
        """The active model's name."""
        return self._classifier_name if self._classifier is not None else LEXICON_NAME

    def score(self, text: str) -> tuple[str, float]:
        """(label, score): label positive/negative/neutral, score in -1..1."""
        text = (text or "").strip()[:MAX_CHARS]
        if not text:
            return "neutral", 0.0
        if self._classifier is not None:
            try:
                return self._classify(text)
            except Exception as exc:  # a broken model must not stop collection
                self._detail = (
                    f"transformer {self._classifier_name} failed while scoring "
                    f"({type(exc).__name__}: {exc}); using the lexicon model"
                )
                log.warning("%s", self._detail)
                self._classifier = None
        value = self._lexicon.compound(text)
        return sentiment_label(value), value

    def _classify(self, text: str) -> tuple[str, float]:
        assert self._classifier is not None
        result = self._classifier(text)
        if result and isinstance(result[0], list):  # batched form: one list per input
            result = result[0]
        scores = [(str(r["label"]), float(r["score"])) for r in result]
        if not scores:
            raise ValueError("classifier returned no labels")
        n = len(scores)
        value = sum(_polarity(label, n) * prob for label, prob in scores)
        best = max(scores, key=lambda s: s[1])[0]
        label = {1: "positive", -1: "negative", 0: "neutral"}[_polarity(best, n)]
        return label, max(-1.0, min(1.0, value))

    def status(self) -> dict[str, Any]:
        """What is in use and why: for the UI, ``check`` and the REST API."""
        return {
            "active_model": self.name,
            "transformer_installed": transformer_installed(),
            "transformer_model_present": local_transformer_model() is not None,
            "detail": self._detail,
            "crypto_terms": self._term_count,
        }


def transformer_installed() -> bool:
    """Is the optional ``transformers`` package importable?"""
    try:
        return importlib.util.find_spec("transformers") is not None
    except (ImportError, ValueError):
        return False


def _hf_cache_dirs() -> list[Path]:
    env = os.environ
    dirs = []
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "TRANSFORMERS_CACHE"):
        if env.get(name):
            dirs.append(Path(env[name]))
    if env.get("HF_HOME"):
        dirs.append(Path(env["HF_HOME"]) / "hub")
    xdg = Path(env["XDG_CACHE_HOME"]) if env.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    dirs.append(xdg / "huggingface" / "hub")
    return dirs


def local_transformer_model() -> str | None:
    """The first CryptoBERT model id found in the local Hugging Face cache, or None."""
    for repo in TRANSFORMER_MODELS:
        folder = "models--" + repo.replace("/", "--")
        for base in _hf_cache_dirs():
            snapshots = base / folder / "snapshots"
            try:
                if snapshots.is_dir() and any(snapshots.iterdir()):
                    return repo
            except OSError:
                continue
    return None


def _load_transformer() -> tuple[Classifier | None, str, str]:
    """(pipeline, model id, detail); the pipeline is None when it cannot be used."""
    if not transformer_installed():
        return (
            None,
            "",
            (
                "optional transformer not installed (pip install "
                "'cryptohub-desktop[transformer]'); using the offline lexicon model"
            ),
        )
    try:
        import transformers
    except Exception as exc:
        return None, "", f"transformers is installed but fails to import ({exc}); using the lexicon"
    errors = []
    for repo in TRANSFORMER_MODELS:
        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(repo, local_files_only=True)
            model = transformers.AutoModelForSequenceClassification.from_pretrained(
                repo, local_files_only=True
            )
            classifier = transformers.pipeline(
                "text-classification", model=model, tokenizer=tokenizer, top_k=None, truncation=True
            )
            return classifier, repo, f"transformer {repo} loaded from the local model cache"
        except Exception as exc:
            first = str(exc).splitlines()[0] if str(exc) else ""
            errors.append(f"{repo}: {type(exc).__name__}: {first}")
    return (
        None,
        "",
        (
            "no CryptoBERT model in the local Hugging Face cache (never downloaded "
            "automatically); using the lexicon model. " + "; ".join(errors)
        ),
    )


def load_text_model(prefer_transformer: bool = True) -> TextSentiment:
    """The best available model: the local transformer if usable and preferred, else the lexicon."""
    if not prefer_transformer:
        return TextSentiment(
            detail="offline lexicon model (VADER + crypto terms); transformer not requested"
        )
    classifier, repo, detail = _load_transformer()
    if classifier is None:
        log.info("%s", detail)
    return TextSentiment(classifier=classifier, classifier_name=repo, detail=detail)


@cache
def default_lexicon_model() -> TextSentiment:
    """A shared lexicon-only model (collectors use it when the hub gives no scorer)."""
    return load_text_model(prefer_transformer=False)
