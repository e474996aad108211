"""A journey's steps as a graph: where each outcome leads, and the checks made at load.

Every step names its successors: `next` (default: the step after it in the file; after the
last, the journey is complete), a branch's targets and `else`, a wait-for-event's `on_event`
and `on_timeout`. A target is a step id, `continue` (the step's `next`) or `exit`. At load,
a target that names no step, a step that nothing leads to, and a loop that can go round
without waiting are errors naming the key path, so a running journey can never spin.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import assert_never

from pertinent.journeys.model import (
    BranchStep,
    ExitStep,
    JourneyDefinition,
    SendStep,
    Step,
    UpdateTraitsStep,
    WaitForEventStep,
    WaitStep,
    WebhookStep,
)

END = "end"  # the journey is complete
EXIT = "exit"  # the instance exits


def step_id(step: Step) -> str:
    assert step.id is not None, "JourneyDefinition names every step"
    return step.id


class Graph:
    """A definition's steps by id, and where each goes."""

    def __init__(self, definition: JourneyDefinition):
        self.definition = definition
        self.steps: dict[str, Step] = {step_id(s): s for s in definition.steps}
        ids = list(self.steps)
        self._following = {a: b for a, b in zip(ids, [*ids[1:], END], strict=True)}
        self.first = ids[0]

    def step(self, key: str) -> Step | None:
        return self.steps.get(key)

    def next_of(self, step: Step) -> str:
        """Where the step goes when it is done: its `next`, else the step after it."""
        return step.next or self._following[step_id(step)]

    def resolve(self, step: Step, target: str) -> str:
        """A target of `step` as a step id, END or EXIT."""
        return self.next_of(step) if target == "continue" else target

    def targets(self, step: Step) -> Iterator[tuple[str, str]]:
        """(key path under the step, target) for each place the step can lead."""
        match step:
            case BranchStep():
                for index, branch in enumerate(step.branches):
                    yield f"branches.{index}.next", self.resolve(step, branch.next)
                yield "else", self.resolve(step, step.otherwise or "continue")
            case WaitForEventStep():
                yield "on_event", self.resolve(step, step.on_event)
                yield "on_timeout", self.resolve(step, step.on_timeout)
            case ExitStep():
                return
            case WaitStep() | SendStep() | UpdateTraitsStep() | WebhookStep():
                yield "next", self.next_of(step)
            case _:
                assert_never(step)


def problems(definition: JourneyDefinition) -> list[str]:
    """What is wrong with the graph, each with its key path; empty when it is sound."""
    graph = Graph(definition)
    index = {key: n for n, key in enumerate(graph.steps)}
    found: list[str] = []
    edges: dict[str, list[str]] = {}
    for key, step in graph.steps.items():
        edges[key] = []
        for path, target in graph.targets(step):
            if target in (END, EXIT):
                continue
            if target not in graph.steps:
                found.append(f"steps.{index[key]}.{path}: no step {target!r}")
                continue
            edges[key].append(target)
    for target in definition.migrate.values():
        if target not in graph.steps:
            found.append(f"migrate: no step {target!r} in this version")
    if found:
        return found
    reached = _reachable(graph.first, edges)
    found.extend(
        f"steps.{index[key]}: step {key!r} cannot be reached"
        for key in graph.steps
        if key not in reached
    )
    # A loop must pass a waiting step: drop the waits and look for a cycle in what is left.
    moving = {
        key: [t for t in targets if not isinstance(graph.steps[t], WaitStep | WaitForEventStep)]
        for key, targets in edges.items()
        if not isinstance(graph.steps[key], WaitStep | WaitForEventStep)
    }
    cycle = _cycle(moving)
    if cycle:
        path = " -> ".join([*cycle, cycle[0]])
        found.append(f"steps.{index[cycle[0]]}: the loop {path} never waits")
    return found


def _reachable(start: str, edges: dict[str, list[str]]) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for target in edges[todo.pop()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def _cycle(edges: dict[str, list[str]]) -> list[str] | None:
    """A cycle in the graph, as its steps in order, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in edges.get(node, []):
            if target not in edges:
                continue
            if state.get(target) == 1:
                return path[path.index(target) :]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in edges:
        if node not in state and (found := visit(node)):
            return found
    return None
