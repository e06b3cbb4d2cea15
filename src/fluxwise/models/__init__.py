"""Pure, vectorised equations of filtration science in canonical units (no I/O, no pint)."""
