"""citeqa as a user gets it: the wheel, installed into a fresh venv and run from a folder outside the repository.

The wheel is built from a copy of the repository (the build leaves build/ and *.egg-info beside the sources, and a
stale build/ could leak old modules into the wheel) without build isolation or an index, so nothing is downloaded.
The fresh venv gets the wheel alone; a .pth file then appends the project venv's site-packages so the dependencies
import without being installed again. Lines of a .pth only extend sys.path (the .pth files in that folder are not
run), so the project's editable install stays out, and every test checks that `citeqa` comes from the fresh venv.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.paths import ROOT
from tests.service.conftest import free_port

SOURCE_FOLDERS = {"citeqa": "citeqa", "index": "citeqa/index", "service": "citeqa/service", "eval": "citeqa/eval"}
DATA_FILES = {
    "citeqa/eval/questions.jsonl",
    "citeqa/eval/thresholds.toml",
    "citeqa/service/web/index.html",
    "citeqa/service/web/app.js",
    "citeqa/service/web/style.css",
}
NOT_SOURCES = shutil.ignore_patterns(
    ".venv", ".git", "var", "build", "*.egg-info", "__pycache__", ".pytest_cache", "test-artifacts", "*.tmp"
)
SMALL_CORPUS = ("what-is-baclofen.txt", "baclofen-withdrawal-timeline.txt")
GIVE_UP_S = 600  # only a guard against a hung command, never a claim about speed


def run(command: list, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=GIVE_UP_S, check=False)
    assert done.returncode == 0, f"{command} exited with {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    shutil.copytree(ROOT, tmp / "src", ignore=NOT_SOURCES)
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", tmp / "dist",
         tmp / "src"], cwd=tmp)
    (built,) = (tmp / "dist").glob("citeqa-*.whl")
    return built


@dataclass(frozen=True)
class Installed:
    venv: Path
    work: Path  # the working directory: a small corpus here, the index goes to var/index here
    env: dict[str, str]

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def citeqa(self) -> Path:
        return self.venv / "bin" / "citeqa"

    def python_json(self, code: str):
        """Run `code` in the fresh venv's python (from the work folder) and parse the JSON it prints."""
        return json.loads(run([self.python, "-c", code], cwd=self.work, env=self.env).stdout)


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    tmp = tmp_path_factory.mktemp("installed")
    venv = tmp / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=tmp)
    run([sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install", "--no-deps", "--no-index",
         wheel], cwd=tmp)
    site_packages = run([venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                        cwd=tmp).stdout.strip()
    project_paths = dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")])
    Path(site_packages, "citeqa-test-dependencies.pth").write_text("\n".join(project_paths) + "\n")

    work = tmp / "work"
    (work / "corpus").mkdir(parents=True)
    for name in SMALL_CORPUS:
        shutil.copyfile(ROOT / "corpus" / name, work / "corpus" / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITEQA_") and k != "PYTHONPATH"}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    return Installed(venv=venv, work=work, env=env)


@pytest.fixture(scope="module")
def indexed(installed: Installed) -> Installed:
    run([installed.citeqa, "index"], cwd=installed.work, env=installed.env)
    return installed


def test_wheel_holds_the_citeqa_modules_and_data_files_and_nothing_else(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    dist_info = {n for n in names if n.split("/")[0].endswith(".dist-info")}
    assert {n.split("/")[0] for n in dist_info} == {"citeqa-0.1.0.dist-info"}
    modules = {
        f"{target}/{path.relative_to(ROOT / folder).as_posix()}"
        for folder, target in SOURCE_FOLDERS.items()
        for path in (ROOT / folder).rglob("*.py")
        if "__pycache__" not in path.parts
    }
    # every module of the four folders (a subpackage missing from pyproject.toml would be dropped), the data
    # files, and so no tests, bench, corpus or eval reports
    assert names - dist_info == modules | DATA_FILES


def test_installed_citeqa_comes_from_the_fresh_venv_with_its_packaged_data(installed: Installed):
    found = installed.python_json(
        "import json, citeqa, citeqa.eval.gate as gate, citeqa.eval.runner as runner\n"
        "from importlib.resources import files\n"
        "web = files('citeqa.service.web')\n"
        "print(json.dumps({'citeqa': citeqa.__file__, 'set': str(runner.DEFAULT_SET),\n"
        "                  'questions': len(runner.load_questions()), 'thresholds': gate.load_thresholds(),\n"
        "                  'web': sorted(p.name for p in web.iterdir() if p.is_file())}))"
    )
    venv = installed.venv.resolve()
    assert Path(found["citeqa"]).resolve().is_relative_to(venv), "citeqa was imported from outside the fresh venv"
    assert Path(found["set"]).resolve().is_relative_to(venv)
    shipped = (ROOT / "eval" / "questions.jsonl").read_text(encoding="utf-8")
    assert found["questions"] == sum(1 for line in shipped.splitlines() if line.strip())
    assert found["thresholds"] == tomllib.loads((ROOT / "eval" / "thresholds.toml").read_text(encoding="utf-8"))
    assert found["web"] == ["app.js", "index.html", "style.css"]


def test_installed_citeqa_indexes_and_searches_the_working_directory_corpus(indexed: Installed):
    assert (indexed.work / "var" / "index").is_dir(), "the index should default to ./var/index"
    done = run([indexed.citeqa, "search", "How long do baclofen withdrawal symptoms last?", "--json"],
               cwd=indexed.work, env=indexed.env)
    results = json.loads(done.stdout)["results"]
    assert results
    assert {r["doc_id"] for r in results} <= {Path(name).stem for name in SMALL_CORPUS}
    for r in results:
        text = (indexed.work / "corpus" / f"{r['doc_id']}.txt").read_text(encoding="utf-8")
        assert text[r["start"] : r["end"]] == r["text"]


def test_installed_eval_has_its_help_and_writes_reports_under_the_working_directory(installed: Installed):
    assert "question set" in run([installed.citeqa, "eval", "--help"], cwd=installed.work, env=installed.env).stdout
    written = installed.python_json(
        "import json; from citeqa.eval.report import write_report\n"
        "paths = write_report({'name': 'wheel', 'created': 'now', 'command': 'test'})\n"
        "print(json.dumps({kind: str(path.resolve()) for kind, path in paths.items()}))"
    )
    reports = (installed.work / "eval" / "reports").resolve()
    assert {Path(p) for p in written.values()} == {reports / "wheel.json", reports / "wheel.md"}
    assert all(Path(p).is_file() for p in written.values())


def test_installed_server_serves_the_packaged_web_chat(indexed: Installed):
    port = free_port()
    env = dict(indexed.env, CITEQA_EMBED_PROCESSES="0")
    log = indexed.work / "serve.log"
    with open(log, "wb") as out:
        server = subprocess.Popen([indexed.citeqa, "serve", "--port", str(port)], cwd=indexed.work, env=env,
                                  stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        give_up = time.monotonic() + GIVE_UP_S
        while True:
            assert server.poll() is None, f"citeqa serve exited with {server.returncode}:\n{log.read_text()}"
            assert time.monotonic() < give_up, f"citeqa serve never answered:\n{log.read_text()}"
            try:
                if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        web = ROOT / "service" / "web"
        assert httpx.get(f"{url}/", timeout=30).content == (web / "index.html").read_bytes()
        assert httpx.get(f"{url}/static/app.js", timeout=30).content == (web / "app.js").read_bytes()
    finally:
        server.terminate()
        server.wait(timeout=30)
