"""The pages of the main window, in sidebar order."""

from __future__ import annotations

from cryptohub_desktop.ui.views.alerts import AlertsView
from cryptohub_desktop.ui.views.base import View
from cryptohub_desktop.ui.views.dashboard import DashboardView
from cryptohub_desktop.ui.views.network import NetworkView
from cryptohub_desktop.ui.views.news_sentiment import NewsSentimentView
from cryptohub_desktop.ui.views.pools import PoolsView
from cryptohub_desktop.ui.views.providers import ProvidersView
from cryptohub_desktop.ui.views.schedule import ScheduleView
from cryptohub_desktop.ui.views.sentiment_models import SentimentModelsView
from cryptohub_desktop.ui.views.settings import SettingsView
from cryptohub_desktop.ui.views.whales import WhalesView

VIEWS: tuple[type[View], ...] = (
    DashboardView, ProvidersView, ScheduleView, NewsSentimentView, WhalesView, NetworkView,
    PoolsView, SentimentModelsView, AlertsView, SettingsView)
