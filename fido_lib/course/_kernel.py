"""The grader's side of a grading kernel: its specification, resolved once; its sockets,
bounded; and nbclient, keeping only the test cells' outputs (part of ``grading``).

A kernel runs the student's code and can send the grader anything: as many messages as it
likes, each as large as it likes, outputs of every cell, widget state. The grader's zmq
sockets refuse a message over ``MAX_MESSAGE_BYTES`` (the connection drops and reconnects)
and queue at most ``MAX_QUEUED_MESSAGES`` (the rest is dropped): what a submission prints
costs the grader at most their product, however much it prints. A test's result is its
execute reply, which is small; of the outputs only the test cells' are kept, at most
``MAX_OUTPUT_CHARS`` each.
"""
from __future__ import annotations

import json
import sys

import zmq
import zmq.asyncio
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager, NoSuchKernel
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from traitlets import default

__all__ = ["MAX_MESSAGE_BYTES", "MAX_OUTPUT_CHARS", "MAX_QUEUED_MESSAGES", "GradingClient", "interpreter",
           "kernel_spec", "pinned_manager"]

#: Text a test cell may leave in the grader's memory; a submission's other cells leave none.
MAX_OUTPUT_CHARS = 200_000
#: The largest message (one frame of it) the grader takes from a kernel, and how many it queues.
MAX_MESSAGE_BYTES = 4 * 2**20
MAX_QUEUED_MESSAGES = 16


class _PinnedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel specification was resolved once, before any kernel ran
    (a kernel could otherwise install a "python3" of its own for the next one), and whose
    sockets hold a bounded number of bounded messages: a kernel can print or send as much as
    it likes, the grader keeps at most ``MAX_QUEUED_MESSAGES`` × ``MAX_MESSAGE_BYTES`` of it
    waiting (a larger message drops the connection, which reconnects; messages beyond the
    queue are dropped: a test's result is its reply, which is small)."""

    pinned = None

    @property
    def kernel_spec(self):
        return self.pinned

    @default("context")
    def _bounded_context(self):
        self._created_context = True
        return _bounded_context()

    @default("client_factory")
    def _bounded_client(self):
        return _BoundedClient


def _bounded_context() -> zmq.asyncio.Context:
    """A zmq context whose sockets refuse messages over ``MAX_MESSAGE_BYTES`` and queue at most
    ``MAX_QUEUED_MESSAGES`` (pyzmq applies a context's options to every socket it makes)."""
    context = zmq.asyncio.Context()
    context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
    context.setsockopt(zmq.RCVHWM, MAX_QUEUED_MESSAGES)
    return context


class _BoundedClient(AsyncKernelClient):
    """The kernel client, its channels on a bounded context (see ``_PinnedKernelManager``)."""

    @default("context")
    def _bounded_context(self):
        self._created_context = True
        return _bounded_context()


def pinned_manager(spec_dict: dict, kernel_name: str) -> type:
    return type("PinnedKernelManager", (_PinnedKernelManager,), {"pinned": KernelSpec(**spec_dict)})


def kernel_spec(kernel_name: str) -> dict:
    if not isinstance(kernel_name, str) or not kernel_name:
        raise TypeError(f"kernel_name must be a non-empty string, got {kernel_name!r}")
    try:
        spec = KernelSpecManager().get_kernel_spec(kernel_name)
    except NoSuchKernel:
        raise ValueError(f"no Jupyter kernel named {kernel_name!r} (see `jupyter kernelspec list`)") from None
    return {**spec.to_dict(), "resource_dir": spec.resource_dir}


def interpreter(spec: dict) -> str | None:
    """The program the kernel specification starts (jupyter_client runs "python" as this interpreter)."""
    argv = spec.get("argv") or []
    if not argv:
        return None
    return sys.executable if argv[0] in ("python", "python3", f"python3.{sys.version_info[1]}") else argv[0]


class GradingClient(NotebookClient):
    """nbclient, keeping only the test cells' outputs (bounded) and no widget state:
    a submission's other cells can print or display as much as they like."""

    def __init__(self, nb, keep: set[int], **kwargs):
        super().__init__(nb, **kwargs)
        self.keep, self.kept_chars = keep, {}

    def output(self, outs, msg, display_id, cell_index):
        if cell_index not in self.keep:
            return None
        size = len(json.dumps(msg.get("content", {}), default=str))
        self.kept_chars[cell_index] = self.kept_chars.get(cell_index, 0) + size
        if self.kept_chars[cell_index] > MAX_OUTPUT_CHARS and msg["msg_type"] != "error":
            return None
        return super().output(outs, msg, display_id, cell_index)

    def handle_comm_msg(self, outs, msg, cell_index):
        return None

    def ask(self, expression: str) -> tuple[bool, str]:
        """Evaluate ``expression`` in the kernel as a ``user_expression`` (IPython's input
        and AST transformers are not applied); (ok, its text or the error)."""
        msg_id = self.kc.execute("", silent=True, store_history=False, allow_stdin=False,
                                 user_expressions={"fido_lib": expression})
        reply = self.wait_for_reply(msg_id)
        content = (reply or {}).get("content", {})
        answer = content.get("user_expressions", {}).get("fido_lib", {})
        if content.get("status") != "ok" or answer.get("status") != "ok":
            why = answer.get("ename") or content.get("ename") or content.get("status") or "no reply"
            return False, f"{why}: {answer.get('evalue') or content.get('evalue') or ''}".strip(": ")
        return True, answer.get("data", {}).get("text/plain", "")
