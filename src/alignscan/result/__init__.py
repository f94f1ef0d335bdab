"""The result: its typed documents (`models`), what its figures mean (`findings`,
decided once for every renderer) and its pandas tables (`frames`)."""
