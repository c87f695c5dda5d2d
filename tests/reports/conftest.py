from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


@pytest.fixture(scope="session")
def iu_dir() -> Path:
    path = SHARED_DATA / "iu_xray"
    if not (path / "reports.jsonl").is_file():
        pytest.skip(f"IU X-ray data not found at {path}")
    return path
