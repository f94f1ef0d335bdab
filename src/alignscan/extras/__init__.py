"""What a result can add to the gaps: drivers (which dimensions move an outcome),
participation (against a headcount), weighting (to the headcount), norms (other
organisations) and the trend across waves."""
