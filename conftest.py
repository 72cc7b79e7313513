"""Project-wide pytest hooks (kept at the root so they also reach notebooks/)."""


def pytest_collectstart(collector):
    # nbval: stderr holds progress bars and library warnings whose text varies
    # between runs and machines; checked cells print what matters to stdout.
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("stderr",)
