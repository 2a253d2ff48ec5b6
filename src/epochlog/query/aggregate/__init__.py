"""MongoDB aggregation pipelines for the stores that cannot run them: the embedded store, and MongoDB-wire
servers holding epochlog's fallback form (FerretDB).

    values.py        MISSING, BSON types, truth, MongoDB's comparison order
    expressions.py   evaluate(expression, variables): field paths, variables, logic, arrays; the operator table
    arguments.py     type checks of evaluated arguments
    arithmetic.py    $add ... $round: numbers and dates
    strings.py       $concat, $toLower, $substrCP, ...
    conversions.py   $toDouble, $toInt, $toLong, $toString, $toBool
    accumulators.py  $group's accumulators
    match.py         $match over pipeline documents: the find filter's semantics, plus $expr
    reshape.py       $project, $addFields/$set, $unset
    grouping.py      $group, $sortByCount, $count, $bucket
    sorting.py       $sort
    stages.py        the stage table and the other stages
    pipeline.py      check_pipeline (refusals on every backend), run_pipeline (the head pushed into find)

What is supported and every deviation from MongoDB: docs/QUERY.md, "Aggregation".
"""

from __future__ import annotations

from .pipeline import check_pipeline, run_pipeline

__all__ = ["check_pipeline", "run_pipeline"]
