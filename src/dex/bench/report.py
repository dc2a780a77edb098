"""The short table ``dex bench`` prints; the JSON file holds everything."""

from __future__ import annotations

from typing import Any

from rich.table import Table

CPU_COLUMNS = ("dex", "postgres", "sandbox", "bench")


def _pipeline_rows(figures: dict[str, Any]) -> list[tuple[str, str]]:
    cpu = figures["cpu_ms_per_step"]
    ready = figures["ready_to_start_ms"]
    database = figures["database"]
    rows = [
        (
            "steps (retried, failed)",
            f"{figures['steps']['executed']} ({figures['steps']['retried']}, {figures['steps']['failed']})",
        ),
        ("steps/s", f"{figures['steps_per_second']}"),
        (
            "CPU ms/step: dex, postgres, sandbox, bench",
            ", ".join(f"{cpu[name]:.2f}" if name in cpu else "n/a" for name in CPU_COLUMNS),
        ),
        ("ready→start p50/p99 ms (all)", f"{ready['all']['p50']} / {ready['all']['p99']}"),
    ]
    workers = [name for name in cpu if name.startswith("worker")]
    if workers:
        rows.insert(
            3,
            (
                f"CPU ms/step: {len(workers)} dramatiq worker(s), broker",
                f"{sum(cpu[name] for name in workers):.2f}, {cpu.get('broker', 0):.2f}",
            ),
        )
    if "queued_by_executor" in ready:
        by_executor = ready["queued_by_executor"]
        rows.append(
            (
                "ready→start p50/p99 ms (made ready by executor)",
                f"{by_executor['p50']} / {by_executor['p99']}",
            )
        )
    if "round_trips_per_step" in database:
        rows.append(
            (
                "DB round trips / statements per step",
                f"{database['round_trips_per_step']} / {database['statements_per_step']}",
            )
        )
    if "recording" in figures:
        recording = figures["recording"]
        rows.append(
            (
                "recordings: steps each, ms each, writer busy",
                f"{recording['steps_per_recording']}, {recording['ms_per_recording']}, "
                f"{recording['writer_busy_fraction']:.0%}",
            )
        )
    rows += [
        ("DB transactions per step", f"{database['transactions_per_step']}"),
        ("DB rows written per step", f"{database['rows_written_per_step']}"),
        ("provider calls per step", f"{figures['provider_calls']['per_step']}"),
        ("dex peak RSS MB", f"{figures['dex_peak_rss_mb']}"),
        _machine_row(figures["machine"]),
    ]
    if "ideal" in figures:
        ideal = figures["ideal"]
        rows.append(
            ("ideal steps/s (ratio)", f"{ideal['ideal_steps_per_second']} ({ideal['ratio_to_ideal']})")
        )
        rows.append(
            (
                f"bound of dex per-provider caps ({ideal['dex_provider_concurrency_cap']})",
                f"{ideal['dex_provider_concurrency_cap_bound']} steps/s",
            )
        )
    return rows


def _machine_row(machine: dict[str, float]) -> tuple[str, str]:
    return (
        "machine CPU s: busy (other processes) of capacity",
        f"{machine['cpu_busy_seconds']:.0f} ({machine['other_processes_cpu_seconds']:.0f}) "
        f"of {machine['cpu_capacity_seconds']:.0f}",
    )


def _scale_rows(figures: dict[str, Any]) -> list[tuple[str, str]]:
    api, cli, export = figures["api_submit"], figures["cli_submit"], figures["export"]
    status = figures["status_first_page_ms"]
    rows = [
        ("API submit s (dex peak RSS MB)", f"{api['seconds']} ({api['dex_peak_rss_mb']})"),
        ("batch status first page ms (first, median)", f"{status['timings'][0]}, {status['median']}"),
        (
            "dex submit CSV s (its RSS, dex RSS MB)",
            f"{cli['seconds']} ({cli['cli_peak_rss_mb']}, {cli['dex_peak_rss_mb']})",
        ),
    ]
    if "skipped" in export:
        rows.append(("export", f"skipped: {export['skipped']}"))
    else:
        rows.append(
            (
                f"export {export['rows']} rows s (dex peak RSS MB)",
                f"{export['seconds']} ({export['dex_peak_rss_mb']})",
            )
        )
    rows.append(_machine_row(figures["machine"]))
    return rows


def summary_table(report: dict[str, Any]) -> Table:
    table = Table(
        title=f"dex bench — {report['machine']['cpus']} CPUs, PostgreSQL {report['machine']['postgres']}"
    )
    for column in ("Workload", "Figure", "Value"):
        table.add_column(column)
    for key, figures in report["workloads"].items():
        rows = _scale_rows(figures) if key == "C" else _pipeline_rows(figures)
        label = (
            f"C ({figures['entities']} entities)"
            if key == "C"
            else f"{key} ({figures['parameters']['companies']} companies)"
        )
        for index, (name, value) in enumerate(rows):
            table.add_row(label if index == 0 else "", name, value)
        table.add_section()
    return table
