"""Reliability (issue 8): interrupted runs, determinism, bad inputs, privacy, fuzzing.

The workflow tests share one dataset in the real SIIM-ACR layout (written by the synthetic
generator, then every DICOM header is given a recognisable PatientName, PatientBirthDate and
InstitutionName) and one uninterrupted reference run of ``configs/test.yaml`` reduced to that
dataset (module fixtures). The reference run goes from conversion to the stats tables, the
summary and the HTML report; the privacy test greps all of it, the determinism test repeats
it, and the kill test compares its interrupted-and-resumed outputs with it byte for byte.
"""

import base64
import contextlib
import json
import math
import os
import re
import signal
import subprocess
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pydicom
import pytest
import yaml
from conftest import ROOT, job_counts, run_snakemake, snakemake_cmd
from hypothesis import event, given, settings
from hypothesis import strategies as st

from saliency_audit import imageops
from saliency_audit.convert import _mask_for
from saliency_audit.errors import AnnotationError, InputError
from saliency_audit.formats.rsna import read_rsna
from saliency_audit.formats.siim import read_siim
from saliency_audit.synth import write_siim

DS = "pneumothorax"
SIZE = yaml.safe_load((ROOT / "configs/test.yaml").read_text())["image_size"]
METHODS = ["GRAD", "SG", "GCAM"]
TARGETS = [
    f"results/{DS}/metrics/GCAM.csv",
    f"results/{DS}/stats/table2.csv",
    f"results/{DS}/figures/qc.png",
    f"results/{DS}/models/tiny_r1/test_predictions.csv",
    "results/report/summary.md",
]
KILL_TARGETS = [
    f"results/{DS}/models/tiny_r1/test_predictions.csv",
    f"results/{DS}/saliency/tiny_r1/GRAD.npy",
]
TRAIN_OUTPUTS = [  # the training job also evaluates the model on the test split
    f"results/{DS}/models/tiny_r1/{name}"
    for name in (
        "model.keras",
        "history.csv",
        "learning_curve.png",
        "test_predictions.csv",
        "test_metrics.json",
    )
]
SALIENCY_OUTPUTS = [
    f"results/{DS}/saliency/tiny_r1/{m}.{ext}" for m in METHODS for ext in "npy json".split()
]
# wall-clock fields of JSON files (sidecars, convert.json, provenance.json)
TIMING_KEYS = {"seconds", "maps_per_s", "images_per_second", "started", "finished"}

PLANTED = {
    "PatientName": "ZEBEDEE^QUIXOTE",
    "PatientBirthDate": "19230417",
    "InstitutionName": "XYZZY MEMORIAL INFIRMARY",
}
NEEDLES = [
    b"zebedee",
    b"quixote",
    b"zebedee^quixote",
    b"19230417",
    b"1923-04-17",
    b"17.04.1923",
    b"xyzzy memorial",
    b"infirmary",
]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """A SIIM-layout dataset whose DICOM headers carry planted identifying values."""
    root = tmp_path_factory.mktemp("siim") / "data"
    write_siim(root, n_images=40, positive_rate=0.5, size=128, seed=11)
    patient_ids = set()
    for path in sorted(root.rglob("*.dcm")):
        ds = pydicom.dcmread(path)
        for keyword, value in PLANTED.items():
            setattr(ds, keyword, value)
        patient_ids.add(str(ds.PatientID))
        ds.save_as(path, enforce_file_format=True)
    raw = next(root.rglob("*.dcm")).read_bytes().lower()
    assert all(n in raw for n in (b"zebedee^quixote", b"19230417", b"xyzzy memorial"))
    return root, sorted(patient_ids)


@pytest.fixture(scope="module")
def config(planted, tmp_path_factory):
    """configs/test.yaml with the planted dataset as its only dataset, one classifier
    architecture, one U-Net and three saliency methods: the whole study in about a minute."""
    cfg = yaml.safe_load((ROOT / "configs/test.yaml").read_text())
    cfg["datasets"] = {DS: {"format": "siim", "task": "segmentation", "root": str(planted[0])}}
    cfg["models"]["classifiers"] = {"tiny": {"arch": "tiny", "replicates": 2}}
    cfg["models"]["unet"]["replicates"] = 1
    cfg["saliency"]["methods"] = METHODS
    cfg["saliency"]["params"] = {"SG": cfg["saliency"]["params"]["SG"]}
    cfg["randomization"] = {"jobs": "per_model", "blocks": ["logits", "stem"], "independent": False}
    path = tmp_path_factory.mktemp("config") / "reliability.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def reference(config, tmp_path_factory):
    """One uninterrupted run of TARGETS, plus the HTML report."""
    workdir = tmp_path_factory.mktemp("reference")
    run_snakemake(workdir, *TARGETS, configfile=config)
    run_snakemake(workdir, *TARGETS, "--report", str(workdir / "report.html"), configfile=config)
    return workdir


# --------------------------------------------------------------------------- helpers


def group_alive(pgid):
    """Processes of process group ``pgid`` that are still running (zombies do not count)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] not in "ZX":
                alive.append(stat.parent.name)
    return alive


def log_contains(path, marker):
    return lambda: path.is_file() and marker in path.read_text(errors="replace")


def kill_when(workdir, config, targets, ready, timeout=300):
    """Start the workflow in its own session and SIGKILL its whole process group (Snakemake
    and every job) as soon as ``ready()`` is true."""
    with open(workdir.parent / f"{workdir.name}-{time.monotonic_ns()}.out", "w") as out:
        proc = subprocess.Popen(
            snakemake_cmd(workdir, *targets, configfile=config),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    try:
        while not ready():
            if proc.poll() is not None:
                raise AssertionError(f"the run ended before the kill point; see {out.name}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no kill point in {timeout} s; see {out.name}")
            time.sleep(0.02)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        for _ in range(200):
            if not group_alive(proc.pid):
                break
            time.sleep(0.05)
        assert not group_alive(proc.pid), "processes of the killed run survived SIGKILL"


def assert_absent_or_complete(path, n_rows):
    """An output that exists under its final name must be complete and readable."""
    if not path.exists():
        return False
    if path.suffix == ".npy":
        maps = np.load(path)
        assert maps.shape == (n_rows, SIZE, SIZE) and maps.dtype == np.float16, path
        assert np.isfinite(maps).all(), path
    elif path.suffix == ".json":
        meta = json.loads(path.read_text())
        assert meta.get("shape", [n_rows, SIZE, SIZE]) == [n_rows, SIZE, SIZE], path
    elif path.suffix == ".keras":
        with zipfile.ZipFile(path) as zf:
            assert zf.testzip() is None and "model.weights.h5" in zf.namelist(), path
    elif path.suffix == ".csv":
        assert len(pd.read_csv(path)) > 0, path
    elif path.suffix == ".png":
        from PIL import Image

        with Image.open(path) as img:
            img.verify()
    return True


def stray_temporaries(workdir):
    return sorted(p.relative_to(workdir) for p in (workdir / "results").rglob(".tmp-*"))


def visible_files(folder):
    return sorted(
        p.relative_to(folder)
        for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def without_timing(obj):
    if isinstance(obj, dict):
        return {k: without_timing(v) for k, v in obj.items() if k not in TIMING_KEYS}
    if isinstance(obj, list):
        return [without_timing(v) for v in obj]
    return obj


def assert_same_results(a, b, rel_paths):
    """Byte-identical files (JSON: identical apart from wall-clock timings)."""
    for rel in rel_paths:
        fa, fb = a / rel, b / rel
        if fa.suffix == ".json":
            assert without_timing(json.loads(fa.read_text())) == without_timing(
                json.loads(fb.read_text())
            ), f"{rel} differs"
        else:
            assert fa.read_bytes() == fb.read_bytes(), f"{rel} differs"


# --------------------------------------------------------------------------- interrupted runs


def test_kill_during_training_and_saliency_then_rerun_is_identical(reference, config, tmp_path):
    """SIGKILL the whole run mid-training, rerun, SIGKILL it mid-saliency, rerun with the
    README's command: the killed jobs leave no output that reads as complete, Snakemake runs
    them again, and the results equal those of the uninterrupted run byte for byte."""
    work = tmp_path / "killed"
    work.mkdir()
    positives = pd.read_csv(reference / f"results/{DS}/splits/positives.csv")
    n_rows = len(positives)

    train_log = work / f"results/logs/train_classifier/{DS}/tiny_r1.log"
    saliency_log = work / f"results/logs/saliency/{DS}/tiny_r1/all_methods.log"

    # 1. during training: after epoch 1, while epoch 2 / saving runs
    kill_when(work, config, KILL_TARGETS, log_contains(train_log, "epoch 1/2"))
    finished = "train_classifier: done" in train_log.read_text()
    present = [assert_absent_or_complete(work / p, n_rows) for p in TRAIN_OUTPUTS]
    print("killed training job: finished", finished, "outputs present", present)
    if not finished:  # some outputs are missing, and Snakemake runs the job again
        assert not all(present), "a killed training job left every output"
        dry = run_snakemake(work, "-n", TRAIN_OUTPUTS[0], configfile=config)
        assert job_counts(dry).get("train_classifier") == 1, dry.stdout + dry.stderr

    # 2. rerun as the README says (the workflow profile sets nolock: no --unlock needed),
    # killed during the saliency job, once GRAD's maps are written (SG and GCAM to come)
    first = work / SALIENCY_OUTPUTS[1]  # GRAD.json, written after GRAD.npy
    kill_when(work, config, KILL_TARGETS, first.is_file)
    assert "train_classifier: done" in train_log.read_text()
    present = {p: assert_absent_or_complete(work / p, n_rows) for p in SALIENCY_OUTPUTS}
    finished = "saliency_all_methods: done" in saliency_log.read_text()
    print("killed saliency job: finished", finished, "outputs present", present)
    if not finished:
        assert not all(present.values()), "a killed saliency job left every output"
        # GRAD.npy is complete, but belongs to an unfinished job: it must be made again
        dry = run_snakemake(work, "-n", SALIENCY_OUTPUTS[0], configfile=config)
        assert job_counts(dry).get("saliency_all_methods") == 1, dry.stdout + dry.stderr
    strays = stray_temporaries(work)

    # 3. the README's command finishes the run
    run_snakemake(work, *KILL_TARGETS, configfile=config)
    again = run_snakemake(work, "-n", *KILL_TARGETS, configfile=config)
    assert "Nothing to be done" in again.stdout + again.stderr
    # temporaries of killed jobs stay hidden leftovers: no finished job leaves one, and no
    # job took one for an output
    assert stray_temporaries(work) == strays
    assert all(p.name.startswith(".tmp-") for p in strays)
    base = f"results/{DS}"
    compared = [
        f"{base}/{d}/{f}"
        for d in ("images", "splits", "saliency/tiny_r1")
        for f in sorted(os.listdir(work / base / d))
        if not f.startswith(".")
    ] + [f"{base}/models/tiny_r1/{f}" for f in ("test_predictions.csv", "test_metrics.json")]
    for d in ("images", "splits", "saliency/tiny_r1", "models/tiny_r1"):
        assert visible_files(work / base / d) == visible_files(reference / base / d), d
    assert len([p for p in compared if p.endswith(".npy")]) == 2 + 2 * len(METHODS)  # + raw
    assert_same_results(reference, work, compared)


def test_stale_lock_does_not_block_the_rerun(config, tmp_path):
    """After a SIGKILL of the whole run, the README's command runs again as it is (the
    workflow profile sets nolock: Snakemake's lock would survive the kill)."""
    work = tmp_path / "locked"
    work.mkdir()
    convert_log = work / f"results/logs/convert/{DS}.log"
    kill_when(
        work,
        config,
        [f"results/{DS}/splits/sample.csv"],
        log_contains(convert_log, "started"),
    )
    proc = run_snakemake(work, f"results/{DS}/splits/sample.csv", configfile=config, check=False)
    out = proc.stdout + proc.stderr
    if proc.returncode != 0 and "LockException" not in out:
        pytest.fail(f"the rerun failed for another reason than the lock:\n{out}")
    assert proc.returncode == 0, out


# --------------------------------------------------------------------------- determinism


def test_two_runs_give_identical_metrics_tables_and_maps(reference, config, tmp_path):
    """A second run from scratch gives byte-identical CSVs (metrics, stats tables,
    predictions, splits), Markdown tables and summary, map stacks, and JSON files apart from
    their wall-clock fields. history.csv (per-epoch seconds) and .keras zips are left out."""
    run_snakemake(tmp_path, *TARGETS, configfile=config)
    ref_results, new_results = reference / "results", tmp_path / "results"
    files = [
        p
        for p in visible_files(ref_results)
        if p.parts[0] not in ("logs", "benchmarks")
        and p.suffix in (".csv", ".md", ".npy", ".json")
        and p.name != "history.csv"  # per-epoch wall-clock seconds
    ]
    assert [p for p in visible_files(new_results) if p in set(files)] == files
    for name in ("metrics/GCAM.csv", "metrics/SG.csv", "stats/table2.csv", "stats/table3.csv"):
        assert Path(DS, name) in files
    assert Path("report/summary.md") in files
    assert_same_results(ref_results, new_results, files)


# --------------------------------------------------------------------------- privacy


def contents(path):
    """(where, bytes) of a file, of each member of a zip file (.keras) and of each base64
    data URI (the figures and tables embedded in Snakemake's HTML report)."""
    data = path.read_bytes()
    yield "", data
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                yield name, zf.read(name)
    if path.suffix == ".html":
        for k, match in enumerate(re.finditer(rb"base64,([A-Za-z0-9+/=]+)", data)):
            yield f"data URI {k}", base64.b64decode(match.group(1) + b"==")


def leaks(folder, needles):
    """(file, member, needle) for every case-insensitive occurrence of a needle in the names
    or contents of the files under ``folder``; and the number of files scanned."""
    found, scanned = [], 0
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        scanned += 1
        name = str(path.relative_to(folder)).lower().encode()
        for member, blob in contents(path):
            low = blob.lower()
            found += [(str(path), member, n) for n in needles if n in low or n in name]
    return found, scanned


def test_planted_identifiers_reach_no_result_log_or_report(reference, planted):
    """PatientName, PatientBirthDate, InstitutionName and the raw PatientIDs of the input
    DICOMs appear in no file of the run: results, job logs, benchmarks, Snakemake's own logs
    and metadata, the summary and the HTML report."""
    root, patient_ids = planted
    needles = NEEDLES + [pid.lower().encode() for pid in patient_ids]
    # the scanner finds each planted value where it is
    found, _ = leaks(root, needles)
    assert {n for _, _, n in found} >= {b"zebedee^quixote", b"19230417", b"xyzzy memorial"}
    assert (reference / "report.html").is_file() and list(reference.glob(".snakemake/log/*.log"))
    assert (reference / f"results/logs/convert/{DS}.log").is_file()
    found, scanned = leaks(reference, needles)
    assert scanned > 100
    assert not found, found[:10]


# --------------------------------------------------------------------------- bad inputs


def bad_method_config(tmp_path, saliency):
    cfg = yaml.safe_load((ROOT / "configs/test.yaml").read_text())
    cfg["saliency"].update(saliency)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.mark.parametrize(
    "saliency, message",
    [
        (
            {"methods": ["FOO"]},
            "config key saliency.methods.0: 'FOO' is not one of ['GRAD', 'SG', 'IG', 'SIG', "
            "'GCAM', 'XRAI', 'GBP', 'GGCAM', 'BLURIG', 'GUIDEDIG', 'GCAMPP', 'SCORECAM', 'OCC']",
        ),
        (
            {"params": {"SG": {"nsample": 3}}},
            "config key saliency.params.SG: unknown parameter(s) nsample for saliency method SG;"
            " valid: magnitude, nsamples, stdev_spread",
        ),
        ({"params": {"FOO": {}}}, "unknown config key saliency.params.FOO"),
    ],
)
def test_unknown_method_or_parameter_stops_the_dry_run(tmp_path, saliency, message):
    proc = run_snakemake(
        tmp_path, "-n", configfile=bad_method_config(tmp_path, saliency), check=False
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "WorkflowError" in out
    assert message in out, out
    assert "Traceback" not in out and not (tmp_path / "results").exists()


def test_bad_split_csv_and_too_small_sample_fail_their_jobs_with_the_culprit(planted, tmp_path):
    """Workflow level: a given split CSV naming an image that is not in the dataset stops the
    split job with the file and row; a sample larger than the positive test images stops the
    sample job with the config key; no output of either job is left behind."""
    root, _ = planted
    labels = (root / "train-rle.csv").read_text().splitlines()
    known = labels[1].split(",")[0]
    given = tmp_path / "given_split.csv"
    given.write_text(f",Image_ID,Split\n0,{known},train\n1,1.2.3.not.converted,test\n")
    cfg = yaml.safe_load((ROOT / "configs/test.yaml").read_text())
    cfg["datasets"] = {
        "given": {
            "format": "siim",
            "task": "segmentation",
            "root": str(root),
            "split_csv": str(given),
        },
        "small": {"format": "siim", "task": "segmentation", "root": str(root)},
    }
    cfg["sample"] = {"n": 50}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg))
    targets = ["results/given/splits/split.csv", "results/small/splits/sample.csv"]
    proc = run_snakemake(tmp_path, "--keep-going", *targets, configfile=path, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    split_error = f"{given}, row 3: image '1.2.3.not.converted' is not in the converted dataset"
    assert split_error in (tmp_path / "results/logs/split/given.log").read_text()
    assert f"ERROR in rule split: {split_error}" in out
    sample_log = (tmp_path / "results/logs/sample/small.log").read_text()
    too_few = "dataset 'small': config key sample.n asks for 50 positive test images but the"
    assert f"{too_few} test split has only" in sample_log
    assert not (tmp_path / "results/given/splits/split.csv").exists()
    assert not list((tmp_path / "results/small/splits").glob("*sample*"))
    assert not (tmp_path / "results/small/splits/positives.csv").exists()


# --------------------------------------------------------------------------- box parser fuzz

HEADER = "patientId,x,y,width,height,Target\n"
GOOD = st.floats(0, 1200).map(lambda v: f"{v:.1f}")  # the RSNA files' own format
ANY = st.one_of(
    GOOD,
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.integers(-10, 3000).map(str),
    st.text(alphabet='0123456789.-+eEinfaN _,"', max_size=8),
)
VALID_ROW = st.one_of(
    st.tuples(st.just("a1"), GOOD, GOOD, GOOD, GOOD, st.just("1")),  # a1 positive (boxes)
    st.just(("b2", "", "", "", "", "0")),  # b2 negative
)
FUZZ_ROW = st.tuples(
    st.sampled_from(["a1", "b2", " a1", "", "zz"]),
    ANY,
    ANY,
    ANY,
    ANY,
    st.sampled_from(["0", "1", " 1", "2", ""]),
)
ROW = st.one_of(VALID_ROW, VALID_ROW, VALID_ROW, FUZZ_ROW)


@pytest.fixture(scope="module")
def rsna_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("rsna-fuzz")
    (root / "stage_2_train_images").mkdir()
    for pid in ("a1", "b2"):
        (root / "stage_2_train_images" / f"{pid}.dcm").touch()
    return root


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(ROW, min_size=1, max_size=4),
    shape=st.tuples(st.integers(100, 3000), st.integers(100, 3000)),
    size=st.integers(4, 64),
)
def test_fuzz_box_parser_and_scaling(rsna_dir, rows, shape, size):
    """Any label CSV either reads into finite, non-negative boxes of positive size or stops
    with an InputError naming the CSV (and the row, for a bad value); a box then becomes an
    inclusive, non-empty mask inside the image, or an error naming its row."""
    labels = rsna_dir / "stage_2_train_labels.csv"
    labels.write_text(HEADER + "".join(",".join(r) + "\n" for r in rows))
    try:
        records = read_rsna(rsna_dir / "stage_2_train_images", labels)
    except InputError as exc:
        event(f"read error: {type(exc).__name__}")
        assert str(exc).startswith(str(labels)), exc
        if isinstance(exc, AnnotationError):
            assert 2 <= exc.row <= len(rows) + 1, exc
        return
    for rec in records:
        assert rec.image_id in ("a1", "b2") and rec.label in (0, 1)
        assert bool(rec.boxes) == (rec.label == 1)
        for box in rec.boxes:
            assert all(map(math.isfinite, (box.x, box.y, box.width, box.height)))
            assert box.x >= 0 and box.y >= 0 and box.width > 0 and box.height > 0
        try:
            mask, boxes = _mask_for(rec, *shape, size)
        except AnnotationError as exc:
            event("box outside the image")
            assert "extends outside" in exc.reason
            assert exc.row in [b.line for b in rec.boxes]
            continue
        event(f"mask with {min(len(boxes), 2)} box(es) (2: 2 or more)")
        assert mask.shape == (size, size) and set(np.unique(mask)) <= {0, 1}
        expected = np.zeros_like(mask)
        for x0, y0, x1, y1 in boxes:
            assert 0 <= x0 <= x1 < size and 0 <= y0 <= y1 < size
            expected[y0 : y1 + 1, x0 : x1 + 1] = 1
        assert np.array_equal(mask, expected)


@settings(max_examples=300, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 4096), st.integers(1, 4096)),
    size=st.integers(1, 512),
    fractions=st.tuples(*[st.floats(0, 1)] * 4),
)
def test_fuzz_scaled_box_covers_the_box(shape, size, fractions):
    rows, cols = shape
    fx, fy, fw, fh = fractions
    x, y = fx * cols, fy * rows
    w, h = max(fw * (cols - x), 1e-3), max(fh * (rows - y), 1e-3)
    x0, y0, x1, y1 = imageops.scale_box(x, y, w, h, shape, size)
    assert 0 <= x0 <= x1 < size and 0 <= y0 <= y1 < size
    sx, sy = size / cols, size / rows
    eps = 1e-9 * size
    assert x0 <= x * sx + eps and y0 <= y * sy + eps
    assert min(x + w, cols) * sx <= x1 + 1 + eps or x1 == size - 1
    assert min(y + h, rows) * sy <= y1 + 1 + eps or y1 == size - 1


def test_label_row_with_extra_fields_is_named(rsna_dir):
    labels = rsna_dir / "extra.csv"
    labels.write_text(HEADER + "a1,1,2,3,4,1,9\n")
    with pytest.raises(
        InputError, match=r"extra\.csv, row 2: more fields than the 6 of the header"
    ):
        read_rsna(rsna_dir / "stage_2_train_images", labels)
    labels.write_text("")
    with pytest.raises(InputError, match=r"extra\.csv: the label CSV is empty"):
        read_rsna(rsna_dir / "stage_2_train_images", labels)


def test_two_dicom_files_with_one_image_id_are_named(tmp_path):
    images = tmp_path / "dicom-images-train"
    for series in ("s1", "s2"):
        (images / "study" / series).mkdir(parents=True)
        (images / "study" / series / "1.2.3.dcm").touch()
    labels = tmp_path / "train-rle.csv"
    labels.write_text("ImageId, EncodedPixels\n1.2.3, -1\n")
    with pytest.raises(InputError, match=r"image id '1\.2\.3' occurs twice: .*s1/1\.2\.3\.dcm and"):
        read_siim(images, labels)
