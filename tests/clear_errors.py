"""What every refusal of bad input must look like: exit status 2, one "fockmpi: error:" line that
names the problem (``needles``), no traceback."""


def assert_clear_error(code, err, *needles):
    assert code == 2, err
    assert "Traceback" not in err and err.count("fockmpi: error:") == 1, err
    for needle in needles:
        assert needle in err, err


def assert_refused(capsys, argv, *needles):
    """``fockmpi ARGV`` (in this process) refuses with a clear error naming ``needles``."""
    from fockmpi.app import cli
    code = cli.main(list(argv))
    _, err = capsys.readouterr()
    assert_clear_error(code, err, *needles)
