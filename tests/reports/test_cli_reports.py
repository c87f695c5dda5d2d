import io
import json

import pytest

from app import cli


@pytest.fixture
def run_cli(monkeypatch, capsys):
    monkeypatch.setattr(cli, "COMMAND_MODULES", ["app.commands.reports", "app.commands.data"])

    def run(argv, stdin=""):
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        status = cli.main(argv)
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    return run


def test_normalize_english(run_cli):
    status, out, _ = run_cli(["normalize"], "FINDINGS: Mild cardiomegaly.\nIMPRESSION: Cardiomegaly.")
    assert status == 0
    assert out == (
        "Findings: The thorax is symmetric. The mediastinum and trachea are midline. "
        "The lung fields are clear with no focal opacity. Mild cardiomegaly. The hila are not enlarged. "
        "The diaphragms are smooth and the costophrenic angles are sharp. No osseous abnormality.\n"
        "Impression: Cardiomegaly.\n"
    )


def test_normalize_chinese(run_cli):
    status, out, _ = run_cli(["normalize", "--lang", "zh"], "No pneumothorax or effusion.")
    assert status == 0
    assert out == (
        "所见：胸廓对称。纵隔及气管居中。未见气胸或胸腔积液。心影大小正常。双肺门未见增大。"
        "双侧膈肌光滑，肋膈角锐利。未见骨质异常。\n结论：未见急性心肺异常。\n"
    )


def test_normalize_json_both(run_cli):
    status, out, _ = run_cli(["normalize", "--lang", "both", "--json"], "Small left pleural effusion.")
    assert status == 0
    data = json.loads(out)
    assert data["en"]["regions"][2]["sentences"] == ["Small left pleural effusion."]
    assert data["zh"]["regions"][2]["sentences"] == ["左侧少量胸腔积液。"]
    assert data["en"]["regions"][2]["findings"] == [
        {"observation": "Pleural Effusion", "status": "positive", "laterality": "left"}
    ]


def test_normalize_not_covered(run_cli):
    status, out, err = run_cli(["normalize", "--lang", "zh"], "Zebra stripes overlie the quux.")
    assert status == 1
    assert out == ""
    assert "not covered" in err
    assert "Zebra stripes overlie the quux." in err


@pytest.mark.parametrize("command", ["normalize", "label"])
def test_empty_input_exits_2(run_cli, command):
    status, _, err = run_cli([command], "  \n")
    assert status == 2
    assert "no report text on standard input" in err


def test_normalize_punctuation_only_exits_2(run_cli):
    status, _, err = run_cli(["normalize"], ".")
    assert status == 2
    assert "no findings or impression sentences" in err


def test_label_plain(run_cli):
    status, out, _ = run_cli(
        ["label"], "No pneumothorax. Small left pleural effusion. May represent atelectasis."
    )
    assert status == 0
    assert out == "Pneumothorax: negative\nPleural Effusion: positive (left)\nAtelectasis: uncertain\n"


def test_label_json(run_cli):
    status, out, _ = run_cli(["label", "--json"], "Mild cardiomegaly.")
    assert status == 0
    data = json.loads(out)
    assert data["observations"] == {"Cardiomegaly": "positive"}
    assert data["findings"][0]["span"] == [5, 17]


def test_data_build_requires_a_source(run_cli, tmp_path):
    status, _, err = run_cli(["data", "build", "--out", str(tmp_path)])
    assert status == 2
    assert "no data set given" in err


def test_data_build_missing_path(run_cli, tmp_path):
    status, _, err = run_cli(["data", "build", "--out", str(tmp_path), "--iu", str(tmp_path / "absent")])
    assert status == 2
    assert "--iu path not found" in err


def test_normalize_rejects_chinese_source(run_cli):
    status, out, err = run_cli(["normalize"], "心影大小正常。右侧少量胸腔积液。")
    assert status == 2
    assert out == ""
    assert "normalize reads English source reports" in err
