"""The report section every fault tool keeps in docs/reliability.md (tools/fault_driver.py)."""

from __future__ import annotations

from tools.fault_driver import write_section

BEGIN, END = "<!-- x report: begin -->", "<!-- x report: end -->"


def test_a_section_between_the_markers_is_replaced_and_the_page_around_it_kept(tmp_path):
    page = tmp_path / "reliability.md"
    page.write_text(f"# Reliability\n\nbefore\n{BEGIN}\nold run\n{END}\nafter\n")
    write_section(page, BEGIN, END, ["new run", "| a |"])
    assert page.read_text() == f"# Reliability\n\nbefore\n{BEGIN}\nnew run\n| a |\n{END}\nafter\n"


def test_a_page_without_the_markers_gets_the_section_at_its_end(tmp_path):
    page = tmp_path / "reliability.md"
    page.write_text("# Reliability\n\nhand-written\n")
    write_section(page, BEGIN, END, ["run"])
    assert page.read_text() == f"# Reliability\n\nhand-written\n\n{BEGIN}\nrun\n{END}\n"


def test_a_missing_page_is_made_with_a_title(tmp_path):
    page = tmp_path / "reliability.md"
    write_section(page, BEGIN, END, ["run"])
    assert page.read_text() == f"# Reliability\n\n{BEGIN}\nrun\n{END}\n"
