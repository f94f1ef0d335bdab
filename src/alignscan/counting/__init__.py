"""Counting: responses read, validated and counted into a count table, by one of the
engines (`engines`: blocks in numpy, DuckDB or Spark SQL, behind one `count_file`)."""
