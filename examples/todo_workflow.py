"""Hands-free workflow: dictate todos, and they are filed into a JSON-lines file.

Drive it from the shell, one voice memo per file, events as JSON lines for the next tool:
    voxagent run examples/todo_workflow.py --audio memos/*.wav --events jsonl \
        | jq -c 'select(.type == "tool_call_finished")'

Todos land in $TODO_FILE (default: todos.jsonl in the current directory).
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from voxagent import Agent, tool


class Todo(BaseModel):
    title: Annotated[str, Field(min_length=1, max_length=120)]
    due: date | None = None
    priority: Literal["low", "normal", "high"] = "normal"


@tool
def add_todo(todo: Todo) -> str:
    """File a todo item the user dictated.

    Args:
        todo: The item: a short title, an optional due date, a priority.
    """
    path = Path(os.environ.get("TODO_FILE", "todos.jsonl"))
    with path.open("a", encoding="utf-8") as f:
        f.write(todo.model_dump_json() + "\n")
    return f"Filed: {todo.title}"


@tool
def list_todos() -> list[dict[str, object]]:
    """List the todos filed so far."""
    path = Path(os.environ.get("TODO_FILE", "todos.jsonl"))
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


agent = Agent(
    tools=[add_todo, list_todos],
    instructions="Turn each voice memo into exactly one todo with add_todo, then confirm briefly.",
)
