"""Exit codes and the one-line errors behind them: a bug in sfdeclare exits 3 and says so, distinct from bad
input (1); a proxy sfdeclare cannot use is bad input, refused in one line, not a bug."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from sfdeclare import __version__, errors
from sfdeclare.cli import main

ROOT = Path(__file__).resolve().parent.parent
CALC = str(ROOT / "examples" / "calc" / "sfdeclare.yaml")


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_the_exit_codes_are_named_once_and_distinct() -> None:
    named = [
        errors.EXIT_OK,
        errors.EXIT_ERROR,
        errors.EXIT_CHANGES,
        errors.EXIT_INTERNAL,
        errors.EXIT_INTERRUPTED,
    ]
    assert named == [0, 1, 2, 3, 130]


def test_a_bug_exits_3_with_one_line_saying_it_is_a_bug_and_how_to_report_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: object, **kwargs: object) -> int:
        raise TypeError("unsupported operand\ntype(s) for +")

    monkeypatch.setattr("sfdeclare.commands.validate.run", broken)
    code, out, err = run(["validate", CALC])
    assert code == errors.EXIT_INTERNAL == 3
    assert out == ""
    assert err == (
        "error: internal error: TypeError: unsupported operand type(s) for + -- this is a bug in sfdeclare "
        f"{__version__}; please report it with the command you ran and its output with --debug (which adds "
        "the traceback)\n"
    )


def test_a_bug_with_debug_shows_the_traceback_and_still_exits_3(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> int:
        raise KeyError("policies")

    monkeypatch.setattr("sfdeclare.commands.validate.run", broken)
    code, _, err = run(["validate", CALC, "--debug"])
    assert code == 3
    assert "Traceback (most recent call last)" in err and 'raise KeyError("policies")' in err
    assert err.splitlines()[-1].startswith("error: internal error: KeyError: 'policies' -- this is a bug")


def test_bad_input_exits_1_and_is_not_reported_as_internal(tmp_path: Path) -> None:
    config = tmp_path / "sfdeclare.yaml"
    config.write_text("version: 1\npolicies: 3\n")
    code, _, err = run(["validate", str(config)])
    assert code == errors.EXIT_ERROR == 1
    assert "internal error" not in err and "bug in sfdeclare" not in err


@pytest.mark.parametrize("variable", ["ALL_PROXY", "HTTP_PROXY", "all_proxy"])
def test_a_socks_proxy_in_the_environment_is_refused_in_one_line(
    variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("ALL_PROXY", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "all_proxy", "http_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(variable, "socks5://user:s3cr3t-proxy-pw@127.0.0.1:1")
    code, out, err = run(["plan", CALC, "--endpoint", "http://127.0.0.1:9"])
    assert code == 1, err
    assert out == ""
    assert err == (
        f"error: {variable.upper()} names a socks5:// proxy: sfdeclare reaches clusters only through http:// or "
        f"https:// proxies (write {variable.upper()}=http://host:port, unset it, or add the cluster's host to "
        "NO_PROXY)\n"
    )
    assert "s3cr3t-proxy-pw" not in err


def test_a_proxy_without_a_scheme_is_refused_and_no_proxy_still_exempts_the_host(
    monkeypatch: pytest.MonkeyPatch, fast_retries: None
) -> None:
    for name in ("ALL_PROXY", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "all_proxy", "http_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", "proxy.example:3128")
    code, _, err = run(["plan", CALC, "--endpoint", "http://127.0.0.1:9"])
    assert code == 1 and "HTTP_PROXY names a proxy without a scheme" in err, err
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    code, _, err = run(["plan", CALC, "--endpoint", "http://127.0.0.1:9"])
    assert code == 1 and "PROXY" not in err and "cannot connect to http://127.0.0.1:9" in err, err
