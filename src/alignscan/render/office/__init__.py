"""Office documents of a result: the deck (`pptx`), the workbook (`xlsx`) and the sheets
both share (`sheets`)."""
