"""The Ansible collection (ansible/): it builds with ``ansible-galaxy collection build``,
installs, passes the ``ansible-test sanity`` tests that run without network or docker
here, its modules' documentation matches their argument specs (what ``validate-modules``
checks first), ``ansible-doc`` reads them, and a module run returns routerctl's data.
The playbook scenarios against four lab routers are in test_fleet_lab.py.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from routerctl import api

REPO = Path(__file__).resolve().parents[1]
COLLECTION = REPO / "ansible"
MODULES = ("routerctl_provision", "routerctl_verify", "routerctl_render")
FQCN = "routerctl.routerctl"
BIN = Path(sys.executable).parent
# the sanity tests that need neither a network (their own venvs download pip) nor docker
LOCAL_SANITY = (
    "action-plugin-docs",
    "compile",
    "empty-init",
    "line-endings",
    "no-assert",
    "no-get-exception",
    "no-illegal-filenames",
    "no-smart-quotes",
    "replace-urlopen",
    "shebang",
    "symlinks",
    "use-argspec-type-path",
    "use-compat-six",
)


def ansible_env(home: Path) -> dict[str, str]:
    """An environment for ansible commands that keeps everything under ``home``."""
    env = dict(os.environ)
    env.update(
        {
            "PATH": f"{BIN}:{env.get('PATH', '/usr/bin:/bin')}",
            "LC_ALL": "C.UTF-8",
            "ANSIBLE_HOME": str(home / "ansible-home"),
            "ANSIBLE_LOCAL_TEMP": str(home / "ansible-tmp"),
            "ANSIBLE_COLLECTIONS_PATH": str(home / "collections"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_HOST_KEY_CHECKING": "False",
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        }
    )
    return env


def ansible_tool() -> None:
    if shutil.which("ansible-galaxy", path=str(BIN)) is None:
        pytest.skip("ansible-core is not installed (pip install -e '.[dev]')")


def install_collection(home: Path) -> Path:
    """Build the collection tarball and install it under ``home/collections``."""
    ansible_tool()
    env = ansible_env(home)
    out = home / "build"
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["ansible-galaxy", "collection", "build", str(COLLECTION), "--output-path", str(out)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    (tarball,) = out.glob("routerctl-routerctl-*.tar.gz")
    subprocess.run(
        ["ansible-galaxy", "collection", "install", str(tarball), "-p", str(home / "collections")],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    return tarball


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("ansible")
    install_collection(home)
    return home


def test_collection_builds_and_installs(installed: Path) -> None:
    tree = installed / "collections" / "ansible_collections" / "routerctl" / "routerctl"
    for m in MODULES:
        assert (tree / "plugins" / "modules" / f"{m}.py").is_file()
    manifest = json.loads((tree / "MANIFEST.json").read_text())
    assert manifest["collection_info"]["namespace"] == "routerctl"
    assert manifest["collection_info"]["name"] == "routerctl"


def test_ansible_test_sanity_local_subset(installed: Path) -> None:
    tree = installed / "sanity" / "ansible_collections" / "routerctl" / "routerctl"
    shutil.copytree(COLLECTION, tree)
    env = ansible_env(installed)
    subprocess.run(
        ["git", "init", "-q", "."], cwd=tree, check=True
    )  # ansible-test lists files by git
    args = [a for t in LOCAL_SANITY for a in ("--test", t)]
    proc = subprocess.run(
        [
            "ansible-test",
            "sanity",
            "--python",
            f"{sys.version_info[0]}.{sys.version_info[1]}",
            *args,
        ],
        cwd=tree,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for t in LOCAL_SANITY:
        assert f'Running sanity test "{t}"' in proc.stdout, t


def test_ansible_doc_reads_every_module(installed: Path) -> None:
    env = ansible_env(installed)
    proc = subprocess.run(
        ["ansible-doc", "--json", *(f"{FQCN}.{m}" for m in MODULES)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    docs = json.loads(proc.stdout)
    assert sorted(docs) == sorted(f"{FQCN}.{m}" for m in MODULES)
    for doc in docs.values():
        assert doc["doc"]["short_description"] and doc["examples"] and doc["return"]


def _argument_spec(module: str, monkeypatch: pytest.MonkeyPatch, home: Path) -> dict[str, Any]:
    """The module's argument_spec, caught where it builds its AnsibleModule."""
    monkeypatch.syspath_prepend(str(home / "collections"))
    mod = importlib.import_module(
        f"ansible_collections.routerctl.routerctl.plugins.modules.{module}"
    )
    seen: dict[str, Any] = {}

    class Stop(Exception):
        pass

    def capture(*, argument_spec: dict[str, Any], supports_check_mode: bool) -> None:
        seen.update(argument_spec)
        seen["_check_mode"] = supports_check_mode
        raise Stop

    monkeypatch.setattr(mod, "AnsibleModule", capture)
    with pytest.raises(Stop):
        mod.main()
    doc = yaml.safe_load(mod.DOCUMENTATION)
    yaml.safe_load(mod.EXAMPLES)
    yaml.safe_load(mod.RETURN)
    return {"spec": seen, "doc": doc}


@pytest.mark.parametrize("module", MODULES)
def test_documentation_matches_the_argument_spec(
    module: str, installed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    got = _argument_spec(module, monkeypatch, installed)
    spec, doc = got["spec"], got["doc"]
    assert doc["module"] == module
    assert spec.pop("_check_mode") is True
    assert doc["attributes"]["check_mode"]["support"] == "full"
    options = doc["options"]
    assert sorted(options) == sorted(spec)
    for name, arg in spec.items():
        opt = options[name]
        assert opt["type"] == arg.get("type", "str"), name
        assert opt.get("default") == arg.get("default"), name
        assert opt.get("choices") == arg.get("choices"), name
        assert opt.get("required", False) == arg.get("required", False), name
        assert opt["description"], name


def test_render_module_returns_the_api_manifests(installed: Path) -> None:
    seed = REPO / "examples" / "seed.yaml"
    env = ansible_env(installed)
    proc = subprocess.run(
        [
            "ansible",
            "localhost",
            "-c",
            "local",
            "-m",
            f"{FQCN}.routerctl_render",
            "-a",
            f"topology={seed}",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(proc.stdout.split(" => ", 1)[1])
    expected = api.render_metallb(api.load_topology(seed))
    assert result["changed"] is False
    assert result["manifests"] == [dict(d) for d in expected.docs]
    assert result["yaml"] == expected.yaml


def test_bad_topology_fails_with_one_line_and_exit_code(installed: Path, tmp_path: Path) -> None:
    bad = tmp_path / "routerctl.yaml"
    bad.write_text("routers: 3\n")
    env = ansible_env(installed)
    argv = ["ansible", "localhost", "-c", "local", "-m", f"{FQCN}.routerctl_provision"]
    proc = subprocess.run(
        [*argv, "-a", f"topology={bad}"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode != 0
    result = json.loads(proc.stdout.split(" => ", 1)[1])
    assert "localhost | FAILED!" in proc.stdout and result["exit_code"] == 2
    assert str(bad) in result["msg"] and "Traceback" not in proc.stdout + proc.stderr
    assert "exception" not in proc.stdout + proc.stderr  # an expected failure, one line
