"""Batch evaluation of spanqa on SQuAD-format data: metrics, loading, runner, reports."""
