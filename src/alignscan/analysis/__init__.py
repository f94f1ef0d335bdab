"""The analysis: group cells and gaps from a count table with their anonymity protection
(`analysis`), and the statistics of a gap (`stats`; `el` for small groups)."""
