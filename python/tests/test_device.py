# SPDX-License-Identifier: MIT
"""ai_core.get_device and the doctor from Python: the environment variables of docs/device.md
behave as documented, the CPU fallback warning is one Python warning per process (and nothing on
stderr), `python -m ai_core doctor` works. Each case runs in a fresh process: the device choice and
the warning are per process."""
from __future__ import annotations

import json

import pytest

from conftest import HAS_CUDA, run_python

# Prints the device, then one line per warning: category and message.
PROBE = """
import warnings, torch
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as caught:
    import ai_core
    try:
        print("device", ai_core.get_device("probe"))
        print("device", ai_core.get_device("probe"))
        # On the selected device: the CPU op of a GPU-less machine shares the warning's
        # once-per-process flag; with a GPU, nothing runs on the CPU, so nothing warns.
        ai_core.nf4.quantize(torch.randn(64, device=ai_core.get_device("probe")))
    except ai_core.CoreError as e:
        print("error", e.code, e.message.splitlines()[0])
for w in caught:
    if "ai_core" in w.category.__module__ or "running on the CPU" in str(w.message):
        print("warning", w.category.__name__, w.filename.endswith("<string>"), str(w.message)[:80])
"""


def probe(env):
    result = run_python(PROBE, env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    return lines, result.stderr


def warnings_of(lines):
    return [line for line in lines if line.startswith("warning")]


@pytest.mark.skipif(HAS_CUDA, reason="the fallback is only seen without a GPU")
def test_fallback_warns_once_through_python_warnings_and_not_on_stderr():
    lines, stderr = probe({})
    assert lines.count("device cpu") == 2
    found = warnings_of(lines)
    assert len(found) == 1, lines
    assert found[0].startswith("warning CpuFallbackWarning True probe is running on the CPU")
    assert "running on the CPU" not in stderr, stderr


@pytest.mark.skipif(not HAS_CUDA, reason="needs a GPU")
def test_with_a_gpu_it_is_cuda_0_and_no_warning():
    lines, _ = probe({})
    assert lines.count("device cuda:0") == 2
    assert warnings_of(lines) == []


@pytest.mark.parametrize("env", [
    {"RUST_AI_FORCE_CPU": "1"}, {"RUST_AI_FORCE_CPU": "TRUE"}, {"AXOLOTL_FORCE_CPU": "yes"},
    {"VSA_OPTIM_FORCE_CPU": "on"}, {"RUST_AI_FORCE_CPU": "1", "RUST_AI_CPU_FALLBACK": "error"},
])
def test_force_cpu_selects_the_cpu_without_a_warning(env):
    lines, stderr = probe(env)
    assert lines.count("device cpu") == 2, lines
    assert warnings_of(lines) == [] and "running on the CPU" not in stderr


def test_the_first_variable_set_wins_even_when_it_says_0():
    lines, _ = probe({"RUST_AI_FORCE_CPU": "0", "AXOLOTL_FORCE_CPU": "1"})
    expected = "device cuda:0" if HAS_CUDA else "device cpu"
    assert lines.count(expected) == 2, lines
    assert len(warnings_of(lines)) == (0 if HAS_CUDA else 1)


@pytest.mark.parametrize("env,needle", [
    ({"RUST_AI_FORCE_CPU": "maybe"}, "RUST_AI_FORCE_CPU"),
    ({"RUST_AI_CUDA_DEVICE": "abc"}, "RUST_AI_CUDA_DEVICE"),
    ({"LOCAL_RANK": "-1"}, "LOCAL_RANK"),
    ({"RUST_AI_CPU_FALLBACK": "sometimes"}, "RUST_AI_CPU_FALLBACK"),
])
def test_a_malformed_variable_is_invalid_config_naming_it(env, needle):
    lines, _ = probe(env)
    errors = [line for line in lines if line.startswith("error")]
    assert errors and errors[0].startswith("error invalid_config"), lines
    assert needle in errors[0]


@pytest.mark.skipif(HAS_CUDA, reason="the fallback policy is only used without a GPU")
def test_fallback_policies_without_a_gpu():
    lines, _ = probe({"RUST_AI_CPU_FALLBACK": "error"})
    assert any(line.startswith("error device_not_available") for line in lines), lines
    lines, stderr = probe({"RUST_AI_CPU_FALLBACK": "allow"})
    assert lines.count("device cpu") == 2
    # `allow` silences get_device; the CPU op still gives the once-per-process warning.
    assert len(warnings_of(lines)) <= 1 and "running on the CPU" not in stderr


@pytest.mark.skipif(not HAS_CUDA, reason="needs a GPU")
def test_ordinals_with_a_gpu():
    import torch

    count = torch.cuda.device_count()
    lines, _ = probe({"RUST_AI_CUDA_DEVICE": str(count)})
    assert any(line.startswith("error device_not_available") for line in lines), lines
    lines, _ = probe({"LOCAL_RANK": str(count - 1)})
    assert lines.count(f"device cuda:{count - 1}") == 2, lines


def test_warnings_can_be_turned_into_errors():
    code = ("import ai_core, warnings\n"
            "warnings.simplefilter('error', ai_core.CpuFallbackWarning)\n"
            "try:\n    print(ai_core.get_device())\n"
            "except ai_core.CpuFallbackWarning as w:\n    print('raised', w)\n")
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert ("cuda:0" if HAS_CUDA else "raised") in result.stdout


def test_device_report_is_the_doctors_json():
    code = "import ai_core, json; print(json.dumps(ai_core.device_report()))"
    result = run_python(code, {"RUST_AI_FORCE_CPU": "1"})
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["selected_device"] == "cpu"
    variables = {v["name"]: v for v in report["environment"]}
    assert variables["RUST_AI_FORCE_CPU"]["value"] == "1"
    assert {"LOCAL_RANK", "RUST_AI_CPU_FALLBACK", "AXOLOTL_FORCE_CPU"} <= set(variables)


def test_python_m_ai_core_doctor():
    result = run_python("", {"RUST_AI_FORCE_CPU": "1"}, args=["-m", "ai_core", "doctor"])
    assert result.returncode == 0, result.stderr
    assert "RUST_AI_FORCE_CPU" in result.stdout and "cpu" in result.stdout
    result = run_python("", {"RUST_AI_FORCE_CPU": "1"}, args=["-m", "ai_core", "doctor", "--json"])
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["selected_device"] == "cpu"
    result = run_python("", {"RUST_AI_FORCE_CPU": "maybe"}, args=["-m", "ai_core", "doctor"])
    assert result.returncode == 1 and "RUST_AI_FORCE_CPU" in result.stdout
