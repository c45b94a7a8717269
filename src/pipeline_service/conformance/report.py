"""The result of a run and its three renderings: console (per area), JUnit XML, JSON."""

from __future__ import annotations

import enum
import json
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape


class Outcome(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"  # the check itself broke: counted as a failure
    SKIPPED = "skipped"  # not applicable to this target with these options


@dataclass
class Result:
    check_id: str
    area: str
    tier: str
    title: str
    description: str
    outcome: Outcome
    message: str = ""  # why it failed or was skipped; for a pass, an optional note
    reproduce: list[str] = field(default_factory=list)
    duration: float = 0.0
    kept_pipelines: list[str] = field(default_factory=list)

    @property
    def holds(self) -> bool:
        return self.outcome in (Outcome.PASSED, Outcome.SKIPPED)


@dataclass
class Report:
    target: str
    depth: str
    seed: int
    core_only: bool = False
    results: list[Result] = field(default_factory=list)
    unreachable: str | None = None
    cleanup_problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the target was reached and every selected check holds."""
        return self.unreachable is None and all(result.holds for result in self.results)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for result in self.results if result.outcome is outcome)

    def by_area(self) -> dict[str, list[Result]]:
        areas: dict[str, list[Result]] = {}
        for result in self.results:
            areas.setdefault(result.area, []).append(result)
        return areas

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "depth": self.depth,
            "seed": self.seed,
            "core_only": self.core_only,
            "ok": self.ok,
            "unreachable": self.unreachable,
            "summary": {outcome.value: self.count(outcome) for outcome in Outcome},
            "cleanup_problems": self.cleanup_problems,
            "checks": [
                {**asdict(result), "outcome": result.outcome.value} for result in self.results
            ],
        }

    def write_json(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")

    def write_junit(self, path: Path) -> None:
        """One <testsuite> per area, one <testcase> per check; the curl lines in the failure."""
        suites = ET.Element("testsuites", name="pipeline-service conformance")
        for area, results in self.by_area().items():
            suite = ET.SubElement(
                suites,
                "testsuite",
                name=area,
                tests=str(len(results)),
                failures=str(sum(1 for r in results if r.outcome is Outcome.FAILED)),
                errors=str(sum(1 for r in results if r.outcome is Outcome.ERROR)),
                skipped=str(sum(1 for r in results if r.outcome is Outcome.SKIPPED)),
                time=f"{sum(r.duration for r in results):.3f}",
            )
            for result in results:
                case = ET.SubElement(
                    suite,
                    "testcase",
                    classname=f"conformance.{area}",
                    name=f"{result.check_id} [{result.tier}]",
                    time=f"{result.duration:.3f}",
                )
                if result.outcome is Outcome.SKIPPED:
                    ET.SubElement(case, "skipped", message=result.message)
                elif not result.holds:
                    tag = "failure" if result.outcome is Outcome.FAILED else "error"
                    element = ET.SubElement(case, tag, message=result.message.splitlines()[0])
                    element.text = "\n".join(
                        [result.message, *(f"reproduce: {line}" for line in result.reproduce)]
                    )
        if self.unreachable:
            suite = ET.SubElement(suites, "testsuite", name="target", tests="1", failures="1")
            case = ET.SubElement(suite, "testcase", classname="conformance", name="reachable")
            ET.SubElement(case, "failure", message=self.unreachable)
        ET.indent(suites)
        ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)


_MARKS = {
    Outcome.PASSED: "[green]✓[/green]",
    Outcome.FAILED: "[red]✗[/red]",
    Outcome.ERROR: "[red]![/red]",
    Outcome.SKIPPED: "[yellow]-[/yellow]",
}


def print_result(console: Console, result: Result) -> None:
    """One line per check; a failure adds its message and reproduction lines."""
    line = f"  {_MARKS[result.outcome]} {result.check_id:<22} [dim]{result.tier:<9}[/dim] "
    console.print(line + escape(result.title), highlight=False, soft_wrap=True)
    if result.outcome is Outcome.PASSED and result.message:
        console.print(f"      [dim]{escape(result.message)}[/dim]", highlight=False)
    elif result.outcome is Outcome.SKIPPED:
        console.print(f"      [yellow]skipped:[/yellow] {escape(result.message)}", highlight=False)
    elif not result.holds:
        for text in result.message.splitlines():
            console.print(f"      {escape(text)}", highlight=False, soft_wrap=True)
        for step in result.reproduce:
            console.print(f"      [bold]reproduce:[/bold] {escape(step)}", soft_wrap=True)
        if result.kept_pipelines:
            kept = ", ".join(result.kept_pipelines)
            console.print(f"      kept for replaying (pipelines): {kept}", highlight=False)


def area_summary(results: list[Result]) -> str:
    """`3/4 hold`, `3/3 hold, 1 skipped`, or `skipped` when none of them ran."""
    ran = [r for r in results if r.outcome is not Outcome.SKIPPED]
    skipped = len(results) - len(ran)
    if not ran:
        return "skipped"
    held = sum(1 for r in ran if r.outcome is Outcome.PASSED)
    return f"{held}/{len(ran)} hold" + (f", {skipped} skipped" if skipped else "")


def print_report(console: Console, report: Report) -> None:
    """Per area: what holds and what does not, then a summary line."""
    console.print(
        f"Conformance of {report.target} (depth {report.depth}, seed {report.seed}"
        f"{', core only' if report.core_only else ''})",
        highlight=False,
    )
    if report.unreachable:
        console.print(f"[red]✗ {escape(report.unreachable)}[/red]", highlight=False)
        return
    for area, results in report.by_area().items():
        console.print(f"[bold]{area}[/bold]: {area_summary(results)}", highlight=False)
        for result in results:
            print_result(console, result)
    for problem in report.cleanup_problems:
        console.print(f"[yellow]cleanup: {escape(problem)}[/yellow]", highlight=False)
    failed = report.count(Outcome.FAILED) + report.count(Outcome.ERROR)
    summary = (
        f"{report.count(Outcome.PASSED)} passed, {failed} failed, "
        f"{report.count(Outcome.SKIPPED)} skipped"
    )
    colour = "green" if report.ok else "red"
    console.print(f"[{colour}]{summary}[/{colour}]", highlight=False)
