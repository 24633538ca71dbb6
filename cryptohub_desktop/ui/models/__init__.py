"""Qt table models: :class:`~.table.RowsModel` plus the column sets of each view."""
