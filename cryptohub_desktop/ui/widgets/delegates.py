"""Cell painters: a sparkline of recent prices, a rate-limit usage bar, a status dot."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from cryptohub_desktop.ui.models.table import RAW_ROLE
from cryptohub_desktop.ui.theme import DOWN, UP, bar_color, status_color

Index = QModelIndex | QPersistentModelIndex


def _background(painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
    opt = QStyleOptionViewItem(option)
    opt.text = ""
    style = opt.widget.style() if opt.widget else None
    if style is not None:
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)


class SparklineDelegate(QStyledItemDelegate):
    """Paints the list of floats in the cell's raw value as a small line, green when
    the last value is above the first, red otherwise."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        _background(painter, option, index)
        values = index.data(RAW_ROLE) or []
        values = [float(v) for v in values if v is not None]
        if len(values) < 2:
            return
        r = QRectF(option.rect).adjusted(4, 5, -4, -5)
        lo, hi = min(values), max(values)
        span = (hi - lo) or 1.0
        step = r.width() / (len(values) - 1)
        poly = QPolygonF([QPointF(r.left() + i * step, r.bottom() - (v - lo) / span * r.height())
                          for i, v in enumerate(values)])
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor(UP if values[-1] >= values[0] else DOWN), 1.4))
        painter.drawPolyline(poly)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        return QSize(110, 24)


class RateBarDelegate(QStyledItemDelegate):
    """Paints a usage percentage (raw value, 0-100+) as a bar: green, amber from
    80 %, red from 100 %, with the percentage written on it."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        _background(painter, option, index)
        pct = index.data(RAW_ROLE)
        if pct is None:
            return
        pct = float(pct)
        r = QRectF(option.rect).adjusted(4, 6, -4, -6)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        track = QColor(option.palette.mid().color())
        track.setAlpha(90)
        painter.setBrush(track)
        painter.drawRoundedRect(r, 3, 3)
        fill = QRectF(r)
        fill.setWidth(r.width() * max(0.0, min(pct, 100.0)) / 100.0)
        painter.setBrush(QColor(bar_color(pct)))
        if fill.width() > 0:
            painter.drawRoundedRect(fill, 3, 3)
        painter.setPen(option.palette.text().color())
        painter.drawText(r, Qt.AlignmentFlag.AlignCenter, f"{pct:.0f}%")
        painter.restore()


class StatusDelegate(QStyledItemDelegate):
    """A coloured dot before the status text (colour from the raw status)."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        _background(painter, option, index)
        status = str(index.data(RAW_ROLE) or "unknown")
        r = option.rect
        d = 10
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(status_color(status))
        painter.drawEllipse(QRectF(r.left() + 6, r.center().y() - d / 2 + 1, d, d))
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        painter.setPen(option.palette.highlightedText().color() if selected
                       else option.palette.text().color())
        text_rect = r.adjusted(6 + d + 6, 0, -2, 0)
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                         str(index.data(Qt.ItemDataRole.DisplayRole) or ""))
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        s = super().sizeHint(option, index)
        return QSize(s.width() + 22, s.height())
