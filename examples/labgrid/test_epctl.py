"""epctl on the DUT through labgrid: probe and doorbell status as TAP and JSON.

Run with labgrid's pytest plugin:  pytest --lg-env examples/labgrid/env.yaml examples/labgrid
The target's CommandProtocol driver (SSHDriver or ShellDriver, see env*.yaml) runs epctl on
the board; epctl (the one-file bundle or the Yocto package) must be on its PATH.
"""

import json
import re
import shlex

import pytest

EPCTL = "epctl"

TAP_TEST = re.compile(r"^(ok|not ok) (\d+) - (.*?)(?: # SKIP (.*))?$")
TAP_PLAN = re.compile(r"^1\.\.(\d+)$")


@pytest.fixture(scope="module")
def command(target):
    """The target's shell: get_driver activates it (SSH connection or serial login)."""
    return target.get_driver("CommandProtocol")


def epctl(command, *args):
    """Runs epctl on the DUT; returns (stdout text, exit code). ShellDriver merges stderr."""
    stdout, _stderr, code = command.run(" ".join(shlex.quote(a) for a in (EPCTL, *args)))
    return "\n".join(stdout), code


def parse_tap(text):
    """TAP 13 as epctl prints it: [(ok, number, name, skip reason or None)], the plan checked."""
    lines = text.splitlines()
    assert lines and lines[0] == "TAP version 13", text
    plan = None
    tests = []
    for line in lines[1:]:
        if line.startswith("#"):
            continue
        m = TAP_PLAN.match(line)
        if m and plan is None:
            plan = int(m.group(1))
            continue
        m = TAP_TEST.match(line)
        assert m, f"not a TAP line: {line!r}"
        tests.append((m.group(1) == "ok", int(m.group(2)), m.group(3), m.group(4)))
    assert plan == len(tests), f"plan 1..{plan} but {len(tests)} tests"
    assert [n for _, n, _, _ in tests] == list(range(1, len(tests) + 1))
    return tests


def failed(tests):
    return [name for ok, _, name, _ in tests if not ok]


def test_epctl_runs(command):
    out, code = epctl(command, "--version")
    assert code == 0
    assert re.match(r"^\d+\.\d+\.\d+", out.strip())


def test_probe_tap(command):
    out, code = epctl(command, "probe", "--format", "tap")
    tests = parse_tap(out)
    # probe exits 0 when the board can do endpoint work (4, 5, 6, 7: see epctl --help).
    assert code == 0, f"epctl probe exited {code}; failed checks: {failed(tests)}"
    names = [name for _, _, name, _ in tests]
    for check in ("configfs mounted", "pci_ep in configfs", "endpoint controllers"):
        assert check in names
    assert failed(tests) == [], out


def test_probe_json_agrees_with_tap(command):
    out, code = epctl(command, "probe", "--json")
    assert code == 0
    state = json.loads(out)
    tap, _ = epctl(command, "probe", "--format", "tap")
    verdicts = {name: ok for ok, _, name, _ in parse_tap(tap)}
    for controller in state["controllers"]:
        doorbell = controller["doorbell"]
        expected = doorbell["capable"] and not doorbell.get("ringLost", False)
        assert verdicts[f"{controller['name']} doorbell verdict"] == expected


def test_doorbell_status(command):
    # Run after the board is configured (`epctl apply -c …`, or the epctl service): with no
    # pci_epf_test or pci_epf_vntb function, "doorbell functions exist" is not ok.
    out, code = epctl(command, "doorbell", "status", "--format", "tap")
    assert code == 0, out
    tests = parse_tap(out)
    # Skipped checks (a link with no reading, a function without doorbells) are fine; any
    # other check that is not ok names what is in the way in its diagnostics.
    assert failed(tests) == [], out
