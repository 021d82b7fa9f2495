"""The fork-with-threads warning: quoted once, as its message alone."""
import multiprocessing
import sys
import threading

import pytest

from helpers.processes_in_depth import fork_threads as f


def test_the_process_id_is_left_out_of_the_quote():
    message = "This process (pid=12345) is multi-threaded, use of fork() may lead to deadlocks"
    assert f.quoted(message) == ("This process is multi-threaded, use of fork() may lead "
                                 "to deadlocks")
    assert f.quoted("no pid here") == "no pid here"


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork")
def test_the_words_follow_what_this_python_said(no_leftover_processes):
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, args=(10,), daemon=True)
    other.start()  # a second thread, as in a kernel
    try:
        text = f.describe_fork_warning()
    finally:
        stop.set()
        other.join(5)
    assert "pid=" not in text and "\x1b[" not in text and " 1 threads" not in text
    if sys.version_info >= (3, 12):
        assert "multi-threaded" in text and "DeprecationWarning" in text
    else:
        assert "it came in 3.12" in text and "multi-threaded" not in text
