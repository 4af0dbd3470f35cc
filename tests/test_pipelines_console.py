"""pipelines.console: one parser class and one exit-status rule for every console script."""
import signal

import pytest

from pipelines import console, evaluate, train
from pipelines.errors import UsageError
from pipelines.signals import Terminated


def run(command, capsys, *argv, **options) -> tuple[int, list[str]]:
    parser = console.Parser(prog="prog")
    parser.add_argument("--n", type=int, default=0)
    code = console.run_command("prog", parser, command, list(argv), **options)
    return code, capsys.readouterr().err.strip().splitlines()


def raising(exc: BaseException):
    def command(args):
        raise exc
    return command


def test_success_returns_the_commands_status(capsys):
    assert run(lambda args: args.n, capsys, "--n", "3") == (3, [])


@pytest.mark.parametrize("argv, line", [
    (["--n", "x"], "prog: error: argument --n: invalid int value: 'x'"),
    (["--bogus"], "prog: error: unrecognized arguments: --bogus"),
])
def test_a_bad_command_line_is_one_line_exit_2(capsys, argv, line):
    assert run(lambda args: 0, capsys, *argv) == (2, [line])


def test_usage_errors_are_exit_2_and_others_exit_1_with_the_debug_hint(capsys):
    import video

    assert run(raising(UsageError("--x: bad")), capsys) == (2, ["prog: error: --x: bad"])
    assert run(raising(video.VideoError("in.mp4: no such file")), capsys) == (
        2, ["prog: error: in.mp4: no such file"])
    assert run(raising(ValueError("v\nmore")), capsys, usage=(ValueError,)) == (2, ["prog: error: v"])
    assert run(raising(RuntimeError("boom\n  at line 3")), capsys) == (
        1, ["prog: error: boom (run with --debug for details)"])


def test_debug_reraises_with_the_traceback(capsys):
    with pytest.raises(RuntimeError, match="boom"):
        run(raising(RuntimeError("boom")), capsys, "--debug")
    with pytest.raises(UsageError, match="unrecognized"):
        run(lambda args: 0, capsys, "--debug", "--bogus")


def test_ctrl_c_is_130_and_sigterm_143_with_what_to_do_next(capsys):
    follow = {"after_stop": lambda args: f"; resume with --n {args.n}"}
    assert run(raising(KeyboardInterrupt()), capsys, "--n", "4", **follow) == (
        130, ["prog: interrupted; resume with --n 4"])
    assert run(raising(Terminated()), capsys, **follow) == (143, ["prog: terminated; resume with --n 0"])


def test_sigterm_raises_terminated_inside_the_command(capsys):
    def command(args):
        signal.raise_signal(signal.SIGTERM)
        return 0

    previous = signal.getsignal(signal.SIGTERM)
    assert run(command, capsys) == (143, ["prog: terminated"])
    assert signal.getsignal(signal.SIGTERM) is previous


@pytest.mark.parametrize("main, prog", [(evaluate.main, "tdm-eval"), (train.main, "tdm-train")])
def test_tdm_eval_and_tdm_train_share_the_rule(main, prog, capsys):
    """A bad command line: exit 2 and one line (tdm-train exited through argparse, tdm-eval
    returned); --debug is an option of both (tdm-eval had none)."""
    assert main(["--bogus"]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"{prog}: error: the following arguments are required: ")
    with pytest.raises(UsageError):
        main(["--bogus", "--debug"])
