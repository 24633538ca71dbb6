"""Reusable widgets: tables with export, chart, gauge, cell delegates."""
