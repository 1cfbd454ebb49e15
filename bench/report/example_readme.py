"""The README of a committed example, composed from its own results, never written by hand.

An example's README is what readers quote, so every figure in it comes from the results
folder beside it: where and when it ran, on what, how quiet the machine was, the headline
ratios and the nine verdicts. Prose that interprets the figures lives in the report, which
is composed from the same results by the same rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bench.analysis.claims import evaluate_claims
from bench.analysis.ratios import headline_ratios
from bench.analysis.soak import soak_checks
from bench.analysis.stability import RowAgreement, all_agree
from bench.report.blocks import Block, Heading, Paragraph, Table, render_markdown
from bench.report.formatting import run_length, verdict_word
from bench.report.runtime import runtime_blocks, target_blocks
from bench.report.sections import batching_blocks, headline_table
from bench.results import BenchResults

__all__ = ["example_readme", "stability_blocks"]


def _provenance(
    results: BenchResults, folder: str, command: str, changed_since: Sequence[str]
) -> str:
    env = results.environment
    plan = env.get("cpu_plan", {}) or {}
    quota = plan.get("server_quota_cores")
    if not env.get("git_dirty"):
        dirty = ""
    elif "git_changed" in env:
        dirty = (
            f" (with the bench, core or twins changed from it: {', '.join(env['git_changed'])}"
            ": not a clean example)"
        )
    else:  # recorded before runs named what differed: docs/ counted too
        dirty = " (the working tree differed from it; this record does not say where)"
    code = (
        "whose bench, core and twins are the code beside this folder"
        if not changed_since
        else "**the bench, core or twins have changed since** ("
        + ", ".join(changed_since[:6])
        + (", ..." if len(changed_since) > 6 else "")
        + "): these figures are those of that commit, not of the code beside them; "
        "`make examples` brings them up to date"
    )
    busy = (
        f" **It was told to run on a busy machine** ({env.get('background_cores')} cores of "
        "other work): its figures are not comparable with a quiet run's."
        if env.get("allowed_busy")
        else f" The start gate measured {float(env.get('background_cores', 0)):.2f} cores of "
        f"other work (limit {float(env.get('disturbed_cores_limit', 0.1)):.2f})."
    )
    return (
        f"Written by `make examples` (`{command}`) at commit `{env.get('git_commit', '?')}`"
        f"{dirty}, {code}, on "
        f"{env.get('cpu_model', '?')} with {env.get('logical_cpus', '?')} logical CPUs and "
        f"{env.get('memory_gib', '?')} GiB (server CPUs {plan.get('server_cpus', '?')}, "
        f"quota {quota if quota else 'none'} core; load generator CPUs "
        f"{plan.get('generator_cpus', '?')}), Python {env.get('python', '?')}, model runtime "
        f"{_runtime(env)}; {run_length(results)}.{busy} `results.json` holds every figure "
        f"the reports show; rebuild them with `make bench-report DIR={folder}`."
    )


def _runtime(env: dict[str, object]) -> str:
    runtimes = env.get("model_runtimes")
    if isinstance(runtimes, dict) and runtimes:
        return ", ".join(sorted({str(v) for v in runtimes.values()}))
    settings = env.get("settings")
    if isinstance(settings, dict) and settings.get("embed_backend"):
        return str(settings["embed_backend"])
    return "not recorded"


def _verdicts(results: BenchResults) -> Table:
    return Table(
        ["claim", "verdict", "in words"],
        [[c.topic, c.verdict, c.text] for c in evaluate_claims(results)],
    )


def example_readme(
    results: BenchResults,
    *,
    title: str,
    folder: str,
    command: str,
    extra: Sequence[Block] = (),
    changed_since: Sequence[str] = (),
) -> str:
    """The README's Markdown: provenance, headline figures, soak checks, verdicts, extra.
    ``changed_since``: the code paths that differ from the run's commit when the README is
    written (nothing: the example is the code beside it)."""
    blocks: list[Block] = [
        Heading(title, 1),
        Paragraph(_provenance(results, folder, command, changed_since)),
    ]
    table, _ = headline_table(results)
    # A profile that measures none of the headline ratios (the batching profile) shows none.
    if any(r.outcome != "not measured" for r in headline_ratios(results)):
        blocks += [Heading("Headline figures"), table]
    batching = batching_blocks(results)
    if batching:
        # The defaults of TWINBENCH_SEARCH_BATCHING and of the model runtime (docs/settings.md)
        # follow from these figures: they are stated here, beside the run that measured them.
        blocks += [Heading("Micro-batching: the figures behind its default"), *batching]
    runtime = runtime_blocks(results)
    if runtime:
        blocks += [
            Heading("The model runtime: the figures behind its default"),
            *runtime,
            *target_blocks(results),
        ]
    checks = soak_checks(results)
    if checks:
        blocks += [
            Heading("Soak checks"),
            Table(
                ["configuration", "memory growth", "memory", "failed requests", "failures"],
                [
                    [
                        c.config,
                        f"{c.memory.growth:+.1%}" if c.memory else "not sampled",
                        verdict_word(c.memory_ok),
                        str(c.run.failures),
                        verdict_word(c.failures_ok),
                    ]
                    for c in checks
                ],
            ),
        ]
    blocks += [Heading("Verdicts"), _verdicts(results), *extra]
    blocks.append(
        Paragraph(
            "The rules behind each verdict, every figure's interval and sample count, and the "
            "plots are in `report.md` (and `report.html`, self-contained) beside this file."
        )
    )
    return render_markdown(blocks)


def stability_blocks(
    rows: Sequence[RowAgreement], folders: Sequence[str], commands: Sequence[str]
) -> list[Block]:
    """The stability table: each run's verdict per claim, and whether the runs agree."""
    verdict = (
        "**They agree on every row**: no claim reads one way in one run and another way in "
        "another (an inconclusive row beside a decisive one counts as agreeing)."
        if all_agree(rows)
        else "**They do not agree on every row**: the rows marked *differ* were settled in "
        "different directions by runs of the same code, so their evidence is too small."
    )
    return [
        Heading("Stability: three quiet runs of this commit"),
        Paragraph(
            f"{len(folders)} quick runs of the same commit, one after another on a quiet "
            f"machine ({', '.join(f'`{f}`' for f in folders)}), made by "
            + "; ".join(f"`{c}`" for c in dict.fromkeys(commands))
            + f". {verdict}"
        ),
        Table(
            ["claim", *(f"run {i + 1}" for i in range(len(folders))), "runs agree"],
            [
                [
                    row.topic,
                    *row.verdicts,
                    "yes" if row.identical else ("yes (some cautious)" if row.agrees else "differ"),
                ]
                for row in rows
            ],
        ),
    ]


def write_readme(folder: Path, text: str) -> Path:
    path = folder / "README.md"
    path.write_text(text, encoding="utf-8")
    return path
