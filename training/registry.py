"""The model registry: a folder of candidate checkpoints, their metrics and the production pointer.

Layout:

    registry/
      registry.json            {"production": name or null, "history": [promotions]}
      candidates/<name>/
        checkpoint/            the model, in the engine's checkpoint layout
        candidate.json         base model, training config, metrics of base and candidate, status

A candidate is only promoted by `promote` (the `echo-cxr registry promote` command). When the
candidate scored below its base model on the held-out studies, promotion needs
`accept_regression=True`; nothing promotes a candidate automatically.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

INDEX = "registry.json"
CANDIDATES = "candidates"
PRIMARY_METRIC = "rouge_l"


class RegressionError(ValueError):
    """Promotion refused because the candidate scored below its base model."""


@dataclass
class Candidate:
    """One registered model."""

    name: str
    folder: Path
    info: dict

    @property
    def checkpoint(self) -> Path:
        return self.folder / "checkpoint"

    @property
    def regressed(self) -> bool:
        """True when the candidate's primary metric is below its base model's."""
        metrics = self.info.get("metrics", {})
        base, candidate = metrics.get("base", {}), metrics.get("candidate", {})
        if PRIMARY_METRIC not in base or PRIMARY_METRIC not in candidate:
            return False
        return candidate[PRIMARY_METRIC] < base[PRIMARY_METRIC]


class ModelRegistry:
    """Register, list and promote candidates in a registry folder."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _index(self) -> dict:
        path = self.root / INDEX
        return json.loads(path.read_text()) if path.is_file() else {"production": None, "history": []}

    def _write_index(self, index: dict) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / INDEX).write_text(json.dumps(index, indent=2) + "\n")

    @property
    def production(self) -> str | None:
        return self._index()["production"]

    def register(self, name: str, checkpoint: Path, info: dict) -> Candidate:
        """Copy a checkpoint folder in as candidate `name` with its config and metrics."""
        folder = self.root / CANDIDATES / name
        if folder.exists():
            raise FileExistsError(f"candidate {name!r} already exists in {self.root}; choose another name")
        shutil.copytree(checkpoint, folder / "checkpoint")
        info = {**info, "name": name, "registered_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "status": "candidate"}
        (folder / "candidate.json").write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n")
        if not (self.root / INDEX).is_file():
            self._write_index(self._index())
        return Candidate(name, folder, info)

    def get(self, name: str) -> Candidate:
        folder = self.root / CANDIDATES / name
        if not (folder / "candidate.json").is_file():
            known = ", ".join(c.name for c in self.candidates()) or "none"
            raise KeyError(f"no candidate {name!r} in {self.root}; registered: {known}")
        return Candidate(name, folder, json.loads((folder / "candidate.json").read_text()))

    def candidates(self) -> list[Candidate]:
        root = self.root / CANDIDATES
        names = sorted(p.name for p in root.iterdir() if (p / "candidate.json").is_file()) if root.is_dir() else []
        return [self.get(name) for name in names]

    def promote(self, name: str, *, accept_regression: bool = False) -> Candidate:
        """Make candidate `name` the production model; refuse a regressed one unless accepted."""
        candidate = self.get(name)
        if candidate.regressed and not accept_regression:
            metrics = candidate.info["metrics"]
            raise RegressionError(
                f"candidate {name!r} scored {PRIMARY_METRIC} {metrics['candidate'][PRIMARY_METRIC]:.4f} against "
                f"{metrics['base'][PRIMARY_METRIC]:.4f} for its base model on the held-out studies; "
                "pass --accept-regression to promote it anyway"
            )
        index = self._index()
        previous = index["production"]
        if previous is not None and previous != name:
            self._set_status(previous, "retired")
        self._set_status(name, "production")
        index["production"] = name
        index["history"].append({"promoted": name, "replaced": previous, "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                                 "accepted_regression": candidate.regressed})
        self._write_index(index)
        return self.get(name)

    def _set_status(self, name: str, status: str) -> None:
        candidate = self.get(name)
        candidate.info["status"] = status
        (candidate.folder / "candidate.json").write_text(json.dumps(candidate.info, indent=2, ensure_ascii=False) + "\n")
