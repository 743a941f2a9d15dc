"""A finished run's files as the commands that aggregate them read them (training.reproduce,
training.summary): result.json and metrics.jsonl, each checked, and every problem one line
naming the file and what is wrong with it (``Damaged``); and damaged files moved aside, never
deleted (``move_aside``)."""

import json
import math
from pathlib import Path

# What the aggregations read from result.json (training.run's _result writes them all).
RESULT_KEYS = (
    "variant",
    "config",
    "steps",
    "epochs_trained",
    "train_seconds",
    "final",
    "last_10_epochs",
)
ASIDE = ".damaged"


class Damaged(ValueError):
    """A run file that cannot be read as training.run writes it; one line naming it."""


def read_result(folder: Path, keys=RESULT_KEYS) -> dict:
    """result.json, with at least ``keys``."""
    path = Path(folder) / "result.json"
    result = _json(path, path.read_bytes() if path.is_file() else None)
    if not isinstance(result, dict):
        raise Damaged(f"{path} holds {type(result).__name__}, not training.run's result object")
    missing = [key for key in keys if key not in result]
    if missing:
        raise Damaged(
            f"{path} lacks {', '.join(missing)}: it is not a whole result of training.run"
        )
    for key in {"config", "final", "last_10_epochs"} & set(keys):
        if not isinstance(result[key], dict):
            raise Damaged(f"{path}: its {key} is {result[key]!r}, not an object")
    for key in {"steps", "epochs_trained", "train_seconds", "linear_seconds"} & set(keys):
        if not _number(result[key]):
            raise Damaged(f"{path}: its {key} is {result[key]!r}, not a number")
    return result


def read_metrics(folder: Path) -> list[dict]:
    path = Path(folder) / "metrics.jsonl"
    if not path.is_file():
        raise Damaged(f"{path} is missing")
    history = []
    for number, line in enumerate(path.read_bytes().splitlines(), 1):
        if line.strip():
            metrics = _json(path, line, f" line {number}")
            if not isinstance(metrics, dict) or not _number(metrics.get("epoch")):
                raise Damaged(f"{path} line {number} is not an epoch's metrics")
            history.append(metrics)
    if not history:
        raise Damaged(f"{path} is empty")
    return history


def read_run(folder: Path, keys=RESULT_KEYS) -> dict:
    """A finished run's result.json (with at least ``keys``) and metrics.jsonl,
    {"result", "history"}, which must agree on the epochs trained (a cut metrics.jsonl lacks
    the last ones)."""
    result, history = read_result(folder, keys), read_metrics(folder)
    if history[-1]["epoch"] != result["epochs_trained"]:
        raise Damaged(
            f"{Path(folder) / 'metrics.jsonl'} ends at epoch {history[-1]['epoch']}, but "
            f"result.json says {result['epochs_trained']} epochs were trained: it is cut"
        )
    return {"result": result, "history": history}


def move_aside(folder: Path, names) -> list[Path]:
    """Rename each of ``names`` present in ``folder`` to NAME.damaged (NAME.damaged-2, … when
    taken); the new paths."""
    moved = []
    for name in names:
        path = Path(folder) / name
        if not path.exists():
            continue
        aside, n = path.with_name(name + ASIDE), 1
        while aside.exists():
            n += 1
            aside = path.with_name(f"{name}{ASIDE}-{n}")
        path.rename(aside)
        moved.append(aside)
    return moved


def _json(path: Path, data: bytes | None, where: str = ""):
    if data is None:
        raise Damaged(f"{path} is missing")
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise Damaged(f"{path}{where} is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise Damaged(
            f"{path}{where} is cut or not JSON ({error.msg} at character {error.pos})"
        ) from None


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
