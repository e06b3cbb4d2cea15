"""Reports: self-contained HTML with interactive figures (plotly.js embedded, no network)."""
