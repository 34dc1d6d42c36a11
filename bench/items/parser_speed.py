"""Item 8: parser throughput (bench/parsers.py's children) at --parser-sizes."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from bench import parsers as parser_bench
from bench.harness import (
    BenchError,
    Context,
    interleave,
)
from bench.stats import Goal, per_second, ratios

BIG = 1_000_000  # parser sizes from here on: --parser-big-runs, no template-only mode


def item_8(ctx: Context) -> None:
    with tempfile.TemporaryDirectory(prefix="routerctl-bench-") as tmp:
        text_path, json_path = Path(tmp) / "routes.txt", Path(tmp) / "routes.json"
        for size in ctx.opts.parser_sizes:
            big = size >= BIG
            runs = ctx.opts.parser_big_runs if big else ctx.opts.parser_runs
            modes = (
                ("floor", "text", "jsonfloor", "json")
                if big
                else ("floor", "template", "text", "jsonfloor", "json")
            )
            ctx.log(f"item 8: parsers at {size} routes ({runs} runs: {', '.join(modes)})")
            text_path.write_text(parser_bench.generate_text(size))
            json_path.write_text(parser_bench.generate_json(size))
            sec: dict[str, list[float]] = {m: [] for m in modes}

            def step(
                mode: str, size: int = size, sec: dict[str, list[float]] = sec
            ) -> Callable[[], None]:
                path = json_path if mode.startswith("json") else text_path

                def go() -> None:
                    r = parser_bench._run(mode, path)  # a fresh child process, CPU seconds
                    if int(r["rows"]) < (1 if mode == "template" else size):
                        raise BenchError(f"item 8: {mode} parsed {r['rows']} of {size} routes")
                    sec[mode].append(float(r["seconds"]))

                return go

            interleave(runs, *(step(m) for m in modes))
            label = f"{size // 1000}k" if size < BIG else f"{size / BIG:g}M"
            names = {
                "floor": "TextFSM 1-rule floor (same text)",
                "template": "TextFSM, our template (no model)",
                "text": "text: parse_routes (TextFSM+model)",
                "jsonfloor": "json.loads floor (same JSON)",
                "json": "json: parse_routes (FRR JSON+model)",
            }
            goals = {"text": Goal(">=", 60_000), "json": Goal(">=", 150_000)}  # issue 17
            for mode in modes:
                ctx.row(
                    "8",
                    f"{names[mode]}, {label}",
                    "routes/s",
                    per_second(size, sec[mode]),
                    goals.get(mode),
                )
            if not big:
                ctx.row(
                    "8",
                    f"template / floor time, {label}",
                    "x",
                    ratios(sec["template"], sec["floor"]),
                    Goal("<=", 1.2),
                    note="regex cost",
                )
            ctx.row(
                "8",
                f"text / floor time, {label}",
                "x",
                ratios(sec["text"], sec["floor"]),
                Goal("<=", 1.2),
                note="regex + building the model",
            )
            ctx.row(
                "8",
                f"json / json.loads floor time, {label}",
                "x",
                ratios(sec["json"], sec["jsonfloor"]),
                None,
                note="decoded document to the model; the decoder bounds the JSON goal",
            )
