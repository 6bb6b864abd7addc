"""README opens with the two commands, and .ci/run runs the second one verbatim."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = text.split("```", 2)[1]
    return [line for line in block.strip().splitlines() if line.strip()]


def test_readme_opens_with_exactly_two_commands():
    commands = readme_commands()
    assert len(commands) == 2
    assert "protosim run scenarios/" in commands[0]
    assert "pytest" in commands[1] and "[test]" in commands[1]
    scenario = commands[0].split("protosim run ", 1)[1].split()[0]
    assert (ROOT / scenario).exists()


def test_ci_runs_the_test_command_verbatim():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert readme_commands()[1] in ci
