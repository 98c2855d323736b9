"""streamlit-folium's browser component, for maps kept as their rendered parts (map_views.show_folium).

Declared here from the package's built frontend without importing streamlit_folium, which imports Folium, and
Folium pandas: 0.35 s of a fresh server's first page, whose map is stored with the data and needs neither. The
component is the same files st_folium serves, called with the same arguments (tests/test_left_behind_stored.py
checks them against st_folium's).
"""
from __future__ import annotations

import hashlib
import re
from importlib.util import find_spec
from pathlib import Path

BUILD = Path(find_spec("streamlit_folium").origin).parent / "frontend" / "build"  # found, not imported

_declared = None


def component():
    """The component function: declared at the first call (inside a script run, so Streamlit registers it and
    serves its files) and registered again with a runtime that does not have it (a new server in the process)."""
    global _declared
    if _declared is None:
        import streamlit.components.v1 as components
        _declared = components.declare_component("st_folium", path=str(BUILD))
    return registered(_declared)


def registered(declared):
    """declared, registered with the running server if it is not yet: Streamlit registers a component only when
    it is declared inside a script run, and serves the files of registered ones only (else no map draws)."""
    from streamlit.runtime import Runtime
    if Runtime.exists():
        registry = Runtime.instance().component_registry
        if registry.get_component(declared.name) is None:
            registry.register_component(declared)
    return declared


def js_hash(js_string: str, key: str | None = None, return_on_hover: bool = False) -> str:
    """streamlit_folium.generate_js_hash (streamlit-folium 0.27): the component's key for a map script, the same
    for the same map whatever random suffixes Folium gave its variable names."""
    standardized = re.sub(r"(_[a-z0-9]+)", "", js_string) + str(key)
    standardized = re.sub(r"(maps\/[-a-z0-9]+\/)", "", standardized) + str(key) + str(return_on_hover)
    return hashlib.sha256(standardized.encode()).hexdigest()
