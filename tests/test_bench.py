"""The benchmark script runs end to end (a short run), so `make bench` cannot rot."""

import os
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(__file__), "..")


def test_golden_bench_runs_and_writes_its_section(tmp_path):
    md = tmp_path / "bench.md"
    md.write_text("# Benchmarks\n\nkept text\n")
    r = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "bench_golden.py"),
                        "--steps", "60", "--write", str(md)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "ratio: spikefab golden is" in r.stdout
    text = md.read_text()
    assert "kept text" in text and "<!-- golden-bench:start -->" in text
    assert "| Brian2 (numpy, float64) |" in text
    # a second run replaces its own section instead of adding another
    subprocess.run([sys.executable, os.path.join(ROOT, "bench", "bench_golden.py"),
                    "--steps", "30", "--write", str(md)], check=True, capture_output=True,
                   timeout=600)
    assert md.read_text().count("<!-- golden-bench:start -->") == 1
