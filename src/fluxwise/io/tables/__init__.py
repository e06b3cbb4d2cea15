"""The tables inside bench-rig exports, shared by the readers of :mod:`fluxwise.io`.

:func:`read_table` finds the table in a CSV/TXT/TSV file or an Excel ``.xlsx`` workbook, with the
``key: value`` metadata lines above it and the units of its columns, and returns a :class:`Table`
whose frame holds the cells as read. The readers of a kind of file build on it:
:mod:`fluxwise.io.trials` (filterability trials) and :mod:`fluxwise.io.ufdf_data` (UF/DF bench
data), with :func:`split_header` (name and unit of a header), :func:`numeric_cells` (a column as
numbers) and :func:`metadata_quantity` (a quantity from an option or a metadata line).

Modules: :mod:`.reader` (:func:`read_table`, by file type), :mod:`.text` (bytes to text,
delimiter, decimal comma), :mod:`.xlsx` (a workbook sheet), :mod:`.grid` (metadata lines, header
and units row of a grid of cells), :mod:`.headers` (units in headers, column names, the header
row), :mod:`.cells` (blank, number and clock-time cells), :mod:`.metadata` (quantities from the
metadata lines).

File layout
-----------
Bench-rig exports often start with metadata lines before the table::

    Filter area: 13.8 cm2
    Mode: constant pressure
    Density;1.03 g/mL
    time (min);filtrate mass (g);P1 (psi)
    0;0,00;10,1
    ...

The header row is the first row in which at least two cells are recognised column names (or
names the reader asks for, such as the headers of a ``columns`` mapping); when no row qualifies,
the last text row before the first all-numeric row is taken, so that a missing-column error can
list the headers found. Rows above the header are read as metadata: ``key: value`` in one cell,
``key:`` / ``key`` followed by the value in the next cells. A row directly below the header that
holds only units (``min``, ``g``, ...) supplies the units for headers without one. CSV delimiters
``,`` ``;`` and tab are sniffed; with ``;`` or tab, a decimal comma (``12,5``) is recognised when
no cell uses a decimal point.

A header carries its unit as ``name (unit)``, ``name [unit]``, ``name / unit`` or ``name_unit``
(``t_h``, ``m_g``, ``V_mL``, ``P_psi``).
"""

from __future__ import annotations

from .cells import numeric_cells
from .headers import split_header
from .metadata import metadata_quantity
from .reader import CSV_EXTENSIONS, EXCEL_EXTENSIONS, Table, read_table

__all__ = ["CSV_EXTENSIONS", "EXCEL_EXTENSIONS", "Table", "metadata_quantity", "numeric_cells", "read_table",
           "split_header"]
