"""Start the app: `python -m junheng.tools.serve [streamlit run options]` (what `make run` and the tests use).

Streamlit treats an app with a pages/ directory as an old-style multipage app until the first script run calls
st.navigation; on a fresh server the first visit straight to a page's link is therefore answered with a
"Page not found" dialog (in English) before the frame takes over (streamlit#9992). This frame always uses
st.navigation, so the launcher says so before the server starts. It also sends the app's own log (which
holds the details users are never shown) to the server's standard error.
"""
from __future__ import annotations

import logging
import sys

from junheng.settings import PROJECT_DIR


def main(argv: list[str] | None = None) -> None:
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.web import cli
    PagesManager.uses_pages_directory = False
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("junheng").setLevel(logging.INFO)
    args = sys.argv[1:] if argv is None else argv
    cli.main(["run", str(PROJECT_DIR / "app.py"), *args], prog_name="streamlit")


if __name__ == "__main__":
    main()
