"""Anonymity: the suppression plan and the audit that nothing about fewer than
`min_group_size` respondents can be derived from published figures (`privacy`), with
its exact integer reasoning (`privacy_int`)."""
