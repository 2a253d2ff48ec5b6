"""import mlflow / import tensorboard: runs from the tools users leave, repeatable without duplicates."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from ..importers import ImportReport
from .app import AsJson, EpochlogGroup, Uri, app, console, err_console, open_tracker, print_json

import_app = typer.Typer(cls=EpochlogGroup, no_args_is_help=True,
                         help="Import runs from MLflow or TensorBoard (again: only what changed).")
app.add_typer(import_app, name="import")

StepsAreEpochs = Annotated[bool, typer.Option(
    "--steps-are-epochs", help="Take every metric's step as its epoch (without it, epochs come from a metric "
                               "named 'epoch', when the run logged one).")]


@import_app.command("mlflow")
def mlflow(tracking_uri: Annotated[str, typer.Argument(
               metavar="TRACKING_URI", help="sqlite:///mlflow.db, postgresql://..., an mlruns directory or "
                                            "http://server:5000.")],
           experiment: Annotated[list[str] | None, typer.Option(
               "--experiment", "-e", metavar="NAME", help="Only this MLflow experiment (repeatable).")] = None,
           steps_are_epochs: StepsAreEpochs = False, uri: Uri = None, as_json: AsJson = False) -> None:
    """Import MLflow runs: params as config, tags, metric histories as step series (and epochs), status, times."""
    from ..importers.mlflow import import_mlflow

    with open_tracker(uri, writes=True) as tracker:
        report = import_mlflow(tracker, tracking_uri, experiment_names=experiment, steps_are_epochs=steps_are_epochs)
    _show(report, as_json)


@import_app.command("tensorboard")
def tensorboard(logdir: Annotated[Path, typer.Argument(metavar="LOGDIR", help="A directory of TensorBoard runs.")],
                steps_are_epochs: StepsAreEpochs = False, uri: Uri = None, as_json: AsJson = False) -> None:
    """Import TensorBoard runs: one experiment per run directory, scalars as step series, hparams as config."""
    from ..importers.tensorboard import import_tensorboard

    with open_tracker(uri, writes=True) as tracker:
        report = import_tensorboard(tracker, logdir, steps_are_epochs=steps_are_epochs)
    _show(report, as_json)


def _show(report: ImportReport, as_json: bool) -> None:
    if as_json:
        print_json(dataclasses.asdict(report))
        return
    console().print(report.summary() + ".")
    if report.unmapped:
        err = err_console()
        err.print(f"Not imported or renamed ({len(report.unmapped)}):")
        for item in report.unmapped:
            err.print(f"  {item}")


__all__ = ["import_app"]
