"""opsdeck's benchmarks: `python -m bench [--quick]` from the repository root.

Each area has a module (`store`, `cli`, `deadlines`, `escalation`, `ingest`, `board`,
`board_pty`, `board_live`) whose figure functions take a `Run` and return one `Figure`:
a value, a baseline measured in the same run, and a target. `__main__` lists the figures,
runs them with progress on stderr, prints a table and writes the same as JSON to
`bench/results/`. `fill` builds big stores fast (setup, never measured); `raw` is the
sqlite3 side of the baselines. The board's figures run apps in processes of their own:
`first_frame` (under `run_test`), `datatable_board` (the DataTable baseline app),
`board_writer` (another operator's process), `pty_session` (a real terminal, read back).

Adding a figure: write `def my_figure(run: Run) -> Figure` in the area's module (share
expensive setup through `run.once`; return None when the run's sizes leave it out), then
add it to `FIGURES` in `__main__`.
"""
