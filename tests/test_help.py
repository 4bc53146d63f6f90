"""Every command's --help teaches by example: the README promises it, and a new user reads --help first."""
import click
import pytest
from click.testing import CliRunner

from genmetrics.cli import cli


def _commands(group, prefix=()):
    for name, command in group.commands.items():
        yield prefix + (name,), command
        if isinstance(command, click.Group):
            yield from _commands(command, prefix + (name,))


@pytest.mark.parametrize("path", [p for p, _ in _commands(cli)], ids=lambda p: " ".join(p))
def test_every_command_help_has_examples(path):
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    group_or_leaf = cli
    for name in path:
        group_or_leaf = group_or_leaf.commands[name]
    if isinstance(group_or_leaf, click.Group):
        # a group teaches through its examples; its subcommands are checked on their own
        assert "Examples" in result.output, result.output
        return
    assert "Examples" in result.output or "Example" in result.output, result.output
    # each example is a real invocation of this command
    assert f"genmetrics {' '.join(path)}" in result.output, result.output
