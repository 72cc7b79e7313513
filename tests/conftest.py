"""Fixtures shared by the test files."""
import pytest
import torch


@pytest.fixture
def one_thread():
    """Run a test with one torch thread, then restore the previous count.

    On a shared 2-core machine one thread is the fast setting for small tensors (two
    threads wait for each other), and it makes training bitwise repeatable.
    """
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
