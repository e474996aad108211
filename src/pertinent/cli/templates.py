"""Templates: lint them, preview one for a real person."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from pertinent.app import open_system
from pertinent.cli.root import WorkspaceOpt, app, console
from pertinent.content.links import LinkRules
from pertinent.content.lint import LintReport, lint_template


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _print_report(report: LintReport, verbose: bool) -> None:
    errors = report.errors
    warnings = len(report.findings) - errors
    colour = "red" if errors else "yellow" if warnings else "green"
    console.print(
        f"[bold]{report.template}[/bold]: [{colour}]{_count(errors, 'error')}, "
        f"{_count(warnings, 'warning')}"
        f"[/{colour}] (converted {escape(report.converted)}; rendered for {report.samples} "
        f"of {report.profiles} profiles)"
    )
    for finding in report.findings:
        style = "red" if finding.severity == "error" else "yellow"
        where = f"{finding.where}: " if finding.where else ""
        console.print(
            f"  [{style}]{finding.severity}[/{style}] {escape(where)}{escape(finding.message)}",
            soft_wrap=True,
        )
    if verbose and report.variables:
        table = Table("variable", "fallback", "profiles lacking it", "first use")
        for variable in report.variables:
            lacking = "-" if variable.lacking is None else str(variable.lacking)
            fallback = "yes" if variable.fallback else "[yellow]no[/yellow]"
            table.add_row(escape(variable.name), fallback, lacking, escape(variable.where[0]))
        console.print(table)


@app.command("lint")
def lint(
    templates: Annotated[
        list[str] | None, typer.Argument(help="template names (default: all of them)")
    ] = None,
    workspace: WorkspaceOpt = Path("."),
    verbose: Annotated[
        bool, typer.Option("--variables", "-v", help="list every variable and its data")
    ] = False,
) -> None:
    """Check templates: syntax, variables and the profiles that lack them, links, the
    unsubscribe link, size, images without alt. Exits 1 when there is an error."""
    system = open_system(workspace)
    try:
        system.models.poll()
        rules = LinkRules.of(system.workspace.settings.content.allowed_link_hosts)
        with system.storage.snapshot() as tx:
            products = list(tx.products.all().values())
        names = templates or system.templates.names()
        reports = [lint_template(system.previews, name, rules, products) for name in names]
    finally:
        system.close()
    for report in reports:
        _print_report(report, verbose)
    if any(r.errors for r in reports):
        raise typer.Exit(1)


@app.command("preview")
def preview(
    template: Annotated[str, typer.Argument(help="the template's name")],
    profile: Annotated[
        str | None, typer.Option(help="user or anonymous id (default: nobody, no data)")
    ] = None,
    workspace: WorkspaceOpt = Path("."),
    html: Annotated[
        Path | None, typer.Option(help="write the HTML to this file ('-': print it)")
    ] = None,
) -> None:
    """Render a template for a real person: subject, preheader and text part, and the
    HTML into a file."""
    system = open_system(workspace)
    try:
        system.models.poll()
        found = system.previews.preview(template, profile)
    finally:
        system.close()
    email = found.email
    who = found.profile_id or "nobody (every variable missing)"
    event = f", event {found.event}" if found.event else ", no trigger event"
    console.print(f"[bold]{escape(template)}[/bold] for {escape(who)}{escape(event)}")
    console.print(f"[bold]Subject:[/bold]   {escape(email.subject)}", soft_wrap=True)
    console.print(f"[bold]Preheader:[/bold] {escape(email.preheader)}", soft_wrap=True)
    for url in email.unlinked:
        console.print(f"[yellow]left unlinked:[/yellow] {escape(url)}", soft_wrap=True)
    console.rule("text part")
    console.print(escape(email.text), soft_wrap=True)
    if html is None:
        console.print(f"(HTML: {len(email.html.encode()) // 1024} KB; --html FILE writes it)")
    elif str(html) == "-":
        sys.stdout.write(email.html)
    else:
        html.write_text(email.html, encoding="utf-8")
        console.print(f"HTML written to {html}")
