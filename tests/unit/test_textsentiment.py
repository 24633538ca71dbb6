"""The offline text-sentiment model (VADER + crypto lexicon) and the optional transformer."""

import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from cryptohub_desktop.core.records import sentiment_label as label_for
from cryptohub_desktop.engine import textsentiment
from cryptohub_desktop.engine.textsentiment import TextSentiment, load_text_model


@pytest.fixture(scope="module")
def model():
    return load_text_model(prefer_transformer=False)


@pytest.mark.parametrize(
    ("headline", "label"),
    [
        # real headlines of the RSS / NewsAPI fixtures
        ("Bitcoin Plunges Below $90K as AI Worries Drag Nasdaq, Crypto Stocks Down", "negative"),
        ("Solo Bitcoin Miner Beats the Odds, Winning $282K Reward", "positive"),
        ("DOT Sinks 2% After Breaking Key Support", "negative"),
        ("XRP Price Could Soon Rally 30% Towards $0.40 After Parabolic Surge", "positive"),
        (
            "Five Crypto Firms Win Initial Approvals as Trust Banks, Including Ripple, Circle, BitGo",
            "positive",
        ),
        (
            "Coinbase Preps Prediction Market, Tokenized Equities Launch for December 17: Report",
            "neutral",
        ),
    ],
)
def test_lexicon_labels_real_crypto_headlines(model, headline, label):
    """Clearly bullish, bearish and neutral crypto headlines get the expected label."""
    got, score = model.score(headline)
    assert got == label
    assert -1.0 <= score <= 1.0
    assert got == label_for(score)


@pytest.mark.parametrize(
    ("text", "direction"),
    [
        ("Bitcoin looks bullish", 1),
        ("Traders got rekt", -1),
        ("Exchange drained in a rug pull", -1),
        ("Bitcoin hits all-time high after ETF approval", 1),
        ("Protocol exploit hits DeFi lenders", -1),
    ],
)
def test_crypto_terms_move_the_score_beyond_plain_vader(model, text, direction):
    """Crypto terms (bullish, rekt, rug pull, all-time high ...) shift the score vs plain VADER."""
    plain = SentimentIntensityAnalyzer().polarity_scores(text)["compound"]
    _, ours = model.score(text)
    assert (ours - plain) * direction > 0.2


def test_negation_still_applies_to_crypto_terms(model):
    """Negation still works on added terms: "Bitcoin is not bullish" is negative."""
    assert model.score("Bitcoin is not bullish")[0] == "negative"


def test_empty_text_is_neutral(model):
    """Empty or blank text scores neutral 0.0 rather than failing."""
    assert model.score("") == ("neutral", 0.0)
    assert model.score("   ") == ("neutral", 0.0)


def test_status_reports_transformer_absent_without_error():
    """Without the transformers extra, the lexicon is active and the absence is reported."""
    m = load_text_model(prefer_transformer=True)
    status = m.status()
    assert m.name == textsentiment.LEXICON_NAME
    assert status["active_model"] == textsentiment.LEXICON_NAME
    assert status["transformer_installed"] is False
    assert status["transformer_model_present"] is False
    assert "not installed" in status["detail"]
    assert status["crypto_terms"] > 50


def test_cryptobert_labels_are_mapped_to_score_and_label():
    """A CryptoBERT-style classifier (Bearish/Neutral/Bullish) gives P(bull) - P(bear)."""

    def classifier(text):
        return [
            [
                {"label": "Bullish", "score": 0.7},
                {"label": "Neutral", "score": 0.2},
                {"label": "Bearish", "score": 0.1},
            ]
        ]

    m = TextSentiment(classifier=classifier, classifier_name="ElKulako/cryptobert")
    assert m.name == "ElKulako/cryptobert"
    label, score = m.score("anything")
    assert label == "positive"
    assert score == pytest.approx(0.6)


def test_generic_label_ids_are_understood():
    """LABEL_0/LABEL_1 of a two-class model mean negative/positive."""
    m = TextSentiment(
        classifier=lambda t: [
            {"label": "LABEL_0", "score": 0.9},
            {"label": "LABEL_1", "score": 0.1},
        ],
        classifier_name="kk08/CryptoBERT",
    )
    label, score = m.score("anything")
    assert label == "negative"
    assert score == pytest.approx(-0.8)


def test_transformer_failure_falls_back_to_lexicon_and_is_reported():
    """A classifier that raises is dropped: the lexicon scores, status says why."""

    def broken(text):
        raise RuntimeError("CUDA out of memory")

    m = TextSentiment(classifier=broken, classifier_name="ElKulako/cryptobert")
    assert m.score("Traders got rekt")[0] == "negative"
    assert m.name == textsentiment.LEXICON_NAME
    assert "CUDA out of memory" in m.status()["detail"]


def test_model_in_hf_cache_is_detected(tmp_path, monkeypatch):
    """A CryptoBERT snapshot in the local Hugging Face cache is reported as present."""
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    snap = tmp_path / "models--kk08--CryptoBERT" / "snapshots" / "abc123"
    snap.mkdir(parents=True)
    assert textsentiment.local_transformer_model() == "kk08/CryptoBERT"
