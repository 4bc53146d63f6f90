"""One source of options: every default lives in defaults.Options once, the CLI's options are made from it,
and a misspelled keyword fails at once with the closest valid name."""
import ast
import pathlib

import click
import pytest

import genmetrics
from genmetrics.cli import cli
from genmetrics.defaults import DEFAULTS, Options, option_names, option_source
from genmetrics.errors import GenmetricsError

PACKAGE = pathlib.Path(genmetrics.__file__).parent
# Test helpers (genmetrics.testing) take seeds of their own synthetic data, not option defaults.
NOT_OPTIONS = {"testing.py", "defaults.py"}


def _parameters_with_literal_defaults():
    names = set(option_names())
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name in NOT_OPTIONS:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            args = node.args
            positional = args.posonlyargs + args.args
            pairs = list(zip(positional[len(positional) - len(args.defaults):], args.defaults))
            pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
            for arg, default in pairs:
                if arg.arg in names and isinstance(default, ast.Constant) and default.value is not None \
                        and not isinstance(default.value, bool):
                    yield f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name}({arg.arg}={default.value!r})"


def test_no_function_restates_an_option_default():
    # A parameter named like an option (device, seed, batch_size, splits, ...) takes DEFAULTS.<name>, never a
    # literal: a literal is a second source of truth that drifts (load_generator once said "cpu").
    assert list(_parameters_with_literal_defaults()) == []


def test_no_cli_option_has_a_numeric_literal_default():
    found = []
    for path in sorted((PACKAGE / "cli").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "option":
                for keyword in node.keywords:
                    value = keyword.value
                    if keyword.arg == "default" and isinstance(value, ast.Constant) \
                            and isinstance(value.value, (int, float)) and not isinstance(value.value, bool):
                        found.append(f"{path.name}:{node.lineno}")
    assert found == []


def _commands(group):
    for command in group.commands.values():
        yield from _commands(command) if isinstance(command, click.Group) else [command]


def test_cli_option_defaults_are_the_library_defaults():
    checked = 0
    for command in _commands(cli):
        for param in command.params:
            if param.name in option_names() and param.default is not None:
                expected = getattr(DEFAULTS, param.name)
                if isinstance(expected, tuple):
                    expected = ",".join(map(str, expected))
                assert str(param.default) == str(expected), (command.name, param.name)
                checked += 1
    assert checked > 40  # the extraction and metric options of many commands


def test_every_option_says_what_it_does():
    for name in option_names():
        assert Options.__dataclass_fields__[name].metadata["help"], name
    # the numbers that come from papers or reference tools name their source
    for name in ("resize", "dims", "splits", "seed", "kid_subsets", "pr_k", "dc_k", "toy_samples"):
        assert option_source(name), name


@pytest.mark.parametrize("call, wrong, right", [
    (lambda: genmetrics.fid("a/", "b/", resise="tf"), "resise", "resize"),
    (lambda: genmetrics.compute_statistics("a/", batchsize=8), "batchsize", "batch_size"),
    (lambda: genmetrics.evaluate("a/", "b/", "kid", kid_subset=5), "kid_subset", "kid_subsets"),
    (lambda: genmetrics.inception_score("a/", weigths="w.pth"), "weigths", "weights"),
    (lambda: genmetrics.truncation_sweep(lambda z: z, 2, None, [1.0], n=10, metrics="modes",
                                         modes_data="ring8", prdc_k=3), "prdc_k", "pr_k"),
])
def test_a_misspelled_option_names_the_closest(call, wrong, right):
    # before any work: the inputs "a/", "b/" do not even exist
    with pytest.raises(GenmetricsError, match=f"unknown option '{wrong}'; did you mean '{right}'"):
        call()


def test_options_replace_checks_names():
    assert DEFAULTS.replace(splits=3).splits == 3
    with pytest.raises(GenmetricsError, match="did you mean 'splits'"):
        DEFAULTS.replace(split=3)
