"""The `spanqa` command line: the same pipeline as the API, one module per command group."""

from __future__ import annotations

import sys

import typer
from transformers.utils import logging as hf_logging

from cli.ask import ask
from cli.collections import CollectionOption, collections_app, use_collection
from cli.docs import docs_app
from cli.index import index_app
from cli.ingest import ingest
from cli.keys import keys_app
from cli.serve import serve
from qa.calibration_cli import calibrate_command
from qa.eval.cli import eval_command
from train.command import reader_app, train_reader_command

app = typer.Typer(
    help="spanqa: extractive question answering over your documents, with exact citations.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
hf_logging.disable_progress_bar()

# The commands that act on one collection's documents: `--collection NAME` must name one that exists.
COLLECTION_COMMANDS = frozenset({"ingest", "ask", "docs", "index", "calibrate"})


@app.callback()
def root_options(ctx: typer.Context, collection: CollectionOption = None) -> None:
    use_collection(collection, must_exist=ctx.invoked_subcommand in COLLECTION_COMMANDS)


app.command()(ingest)
app.command()(ask)
app.add_typer(docs_app, name="docs")
app.add_typer(index_app, name="index")
app.command()(serve)
app.add_typer(keys_app, name="keys")
app.add_typer(collections_app, name="collections")
app.command("eval", help="Evaluate on SQuAD-format data: EM/F1, recall@k, oracle, latency; writes reports.")(
    eval_command
)
app.command("calibrate", help="Fit the confidence calibrator on labelled questions; keeps it in the index.")(
    calibrate_command
)
app.command("train-reader", help="Fine-tune an extractive reader on SQuAD-format data.")(train_reader_command)
app.add_typer(reader_app, name="reader")


def main() -> None:  # pragma: no cover
    sys.exit(app())
