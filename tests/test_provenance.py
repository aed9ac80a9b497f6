"""Provenance: what produced a run (commit, config hash, lock, packages, machine, times)."""

from pathlib import Path

from saliency_audit import config, provenance

ROOT = Path(__file__).resolve().parents[1]


def test_config_hash_is_stable_and_changes_with_the_config():
    cfg = config.load(ROOT / "configs/test.yaml")
    again = config.load(ROOT / "configs/test.yaml")
    assert provenance.config_hash(cfg) == provenance.config_hash(again)
    again["seed"] += 1
    assert provenance.config_hash(cfg) != provenance.config_hash(again)
    assert len(provenance.config_hash(cfg)) == 16


def test_git_state_of_a_checkout_and_of_a_plain_folder(tmp_path):
    state = provenance.git_state(ROOT)
    assert len(state["commit"]) == 40 and isinstance(state["dirty"], bool)
    assert provenance.git_state(tmp_path) == {"commit": "unknown", "dirty": None}
    assert provenance.short("a" * 40, True) == "a" * 12 + "+dirty"


def test_record_has_everything_a_reader_needs(tmp_path, monkeypatch):
    cfg = config.load(ROOT / "configs/test.yaml")
    rec = provenance.record(
        root=ROOT,
        config=cfg,
        lock=ROOT / "requirements/lock.txt",
        started="2026-12-01T00:00:00+00:00",
        finished="2026-12-01T00:10:00+00:00",
        status="completed",
    )
    assert rec["config_hash"] == provenance.config_hash(cfg)
    assert (
        rec["config"]["privacy"]["salt"] == "<redacted>" and cfg["privacy"]["salt"] != "<redacted>"
    )
    assert {**rec["config"], "privacy": cfg["privacy"]} == cfg
    assert rec["lock"]["sha256_16"] and rec["python"].startswith("3.")
    assert "numpy" in {k.lower() for k in rec["packages"]}
    assert set(rec["cpu"]["flags"]) <= set(provenance.CPU_FLAGS) and rec["cpu"]["logical_cores"]
    assert "TF_ENABLE_ONEDNN_OPTS" in rec["determinism"]["env"]
    provenance.write(tmp_path / "p.json", rec)
    assert '"status": "completed"' in (tmp_path / "p.json").read_text()
    monkeypatch.setenv(provenance.COMMIT_ENV, "abc")
    monkeypatch.setenv(provenance.CONFIG_HASH_ENV, "def")
    assert provenance.stamp() == {"commit": "abc", "config_hash": "def"}
