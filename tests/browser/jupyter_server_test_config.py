"""JupyterLab for the browser test: Galata's test settings, on 127.0.0.1 only.

run.sh sets FIDO_BROWSER_PORT and FIDO_BROWSER_ROOT (an empty temporary folder: the
test uploads a copy of the notebook there, so the repository's files are never saved over).
Never use these settings for a real server: token and XSRF checks are off.
"""
import os

from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # noqa: F821  (c is the config object Jupyter passes in)
c.ServerApp.ip = "127.0.0.1"  # noqa: F821
c.ServerApp.port = int(os.environ["FIDO_BROWSER_PORT"])  # noqa: F821
c.ServerApp.root_dir = os.environ["FIDO_BROWSER_ROOT"]  # noqa: F821
c.ServerApp.allow_root = True  # noqa: F821  (CI runs as root)
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"  # noqa: F821  (no network)
