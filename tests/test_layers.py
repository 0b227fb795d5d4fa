"""The layers import one way only (docs/architecture.md): senet_viz knows nothing of Streamlit,
ui/ or pages/; ui/ nothing of pages/; a page no other page; Streamlit's internals are named in
ui/internals.py alone."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def _top(names: set[str]) -> set[str]:
    return {n.split(".")[0] for n in names}


def test_the_package_knows_nothing_of_streamlit_or_the_app():
    for path in (ROOT / "senet_viz").rglob("*.py"):
        assert not _top(_imports(path)) & {"streamlit", "ui", "pages"}, path


def test_the_glue_knows_no_page_and_no_page_another():
    for path in (ROOT / "ui").glob("*.py"):
        assert "pages" not in _top(_imports(path)), path
    for path in (ROOT / "pages").glob("*.py"):
        assert "pages" not in _top(_imports(path)), path


def test_pages_holds_exactly_the_pages_app_registers_and_none_imports_a_plotting_library():
    assert "navigation.pages()" in (ROOT / "app.py").read_text()  # app.py's navigation: the pages of ui/navigation.py
    registered = set(re.findall(r'"(pages/\w+\.py)"', (ROOT / "ui" / "navigation.py").read_text()))
    assert registered == {f"pages/{p.name}" for p in (ROOT / "pages").iterdir() if p.is_file()}
    for path in (ROOT / "pages").glob("*.py"):
        assert not _top(_imports(path)) & {"plotly", "matplotlib", "altair"}, path


def test_streamlits_internals_are_named_in_one_module():
    private = re.compile(r"_session_mgr|_client_state|_scriptrunner|_event_loop|request_rerun|_get_client_context|"
                         r"PagesManager|get_script_run_ctx|ThreadState")
    named = {p.relative_to(ROOT).as_posix() for p in [*(ROOT / "ui").glob("*.py"), *(ROOT / "pages").glob("*.py"),
                                                       ROOT / "app.py", *(ROOT / "senet_viz").rglob("*.py")]
             if private.search(p.read_text())}
    assert named == {"ui/internals.py"}, named


def test_a_sessions_room_state_is_written_by_one_module():
    room_key = re.compile(r"session_state(?:\.|\[\")(?:room\w*|lesson_question)|session_state\.(?:pop|setdefault|get)\(\"(?:room|lesson_question)")
    writers = {p.relative_to(ROOT).as_posix() for p in [*(ROOT / "ui").glob("*.py"), *(ROOT / "pages").glob("*.py"), ROOT / "app.py"]
               if room_key.search(p.read_text())}
    assert writers == {"ui/lesson_room.py"}, writers
