"""epochlog's benchmarks: the same workloads against epochlog and its peers, in one process run.

`benchmarks/run` is the one command (it installs the `bench` extra and starts a FerretDB);
`python -m benchmarks --help` lists the options. See docs/PERFORMANCE.md for the workloads,
the targets and the latest results.
"""
