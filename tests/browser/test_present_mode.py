"""Classroom mode (``LAB_PRESENT=1``) on a 1280×720 projector, in a real browser.

Notebook 03 served by a JupyterLab whose kernels see ``LAB_PRESENT=1``, in a 1280×720
viewport, run top to bottom. Asserted: every output image fits without being scaled down
(its natural width ≤ its output area's width) and is at most 720 px high; the lab widget's
text is larger than the same widget text outside classroom mode (measured in the same page:
a probe ``.widget-label`` without the classroom class), and still fits: no cut label or
dropdown text, no emoji glyph (:func:`tools.lab_driver.output_problems`). Screenshots:
``03_the_gil-present.png`` (the whole notebook; ``03_the_gil.png`` is the normal mode's, from
``test_notebooks_in_browser``) and ``03_the_gil-lab-present.png`` (the lab widget, 1280×720).
"""
from __future__ import annotations

import pytest

from tools.lab_driver import (
    ARTIFACTS,
    NOTEBOOKS,
    LabServer,
    check_state,
    copy_tree,
    lab_cells,
    mark_labs,
    open_notebook,
    open_page,
    output_problems,
    run_all,
    screenshot,
    screenshot_lab,
)

pytestmark = pytest.mark.browser
WIDTH, HEIGHT = 1280, 720

_JS_SIZES = """
() => {
  const imgs = Array.from(document.querySelectorAll('.jp-OutputArea-output img'))
    .filter((img) => img.offsetParent !== null && img.naturalWidth > 0)
    .map((img) => {
      const area = img.closest('.jp-OutputArea-output');
      return {natural: [img.naturalWidth, img.naturalHeight],
              shown: [img.getBoundingClientRect().width, img.getBoundingClientRect().height],
              area: area.clientWidth};
    });
  const lab = document.querySelector('[data-browser-test-lab="0"]');
  const label = lab && lab.querySelector('.widget-label');
  const probe = document.createElement('div');
  probe.className = 'widget-label';
  probe.textContent = 'probe';
  lab.closest('.jp-OutputArea').appendChild(probe);
  const normal = parseFloat(getComputedStyle(probe).fontSize);
  probe.remove();
  return {imgs, normal, present: label ? parseFloat(getComputedStyle(label).fontSize) : null,
          classroom: !!(lab && lab.closest('.lab-present'))};
}
"""


@pytest.mark.timeout(400)
def test_classroom_mode_fits_a_projector(browser, tmp_path) -> None:
    notebook = next(iter(sorted(NOTEBOOKS.glob("03_*.ipynb"))))
    labs = lab_cells(notebook)
    assert labs, f"{notebook.name} has no lab widget"
    copy_tree(NOTEBOOKS, tmp_path / "root" / "notebooks")
    path = f"notebooks/{notebook.name}"
    with LabServer(tmp_path / "root", tmp_path / "state", env={"LAB_PRESENT": "1"}) as server:
        context, page = open_page(browser, WIDTH, HEIGHT)
        try:
            open_notebook(page, server, path)
            run_all(page, path, timeout=240)
            check_state(page, path)
            mark_labs(page, path, labs)
            sizes = page.evaluate(_JS_SIZES)
            problems = output_problems(page, path)  # larger text must still fit its box
            screenshot(page, path, ARTIFACTS / f"{notebook.stem}-present.png")
            screenshot_lab(page, 0, ARTIFACTS / f"{notebook.stem}-lab-present.png", WIDTH, HEIGHT)
        finally:
            context.close()
        left = server.shutdown_kernels()
    assert not left, f"kernel processes left: {left}"
    print(f"classroom mode: {sizes}")
    assert sizes["classroom"], "the lab widget does not carry the classroom-mode class"
    assert sizes["present"] and sizes["present"] > sizes["normal"], (
        f"widget text {sizes['present']} px in classroom mode, {sizes['normal']} px normally")
    assert not problems, "classroom mode:\n  " + "\n  ".join(problems)
    assert sizes["imgs"], "no output image found"
    too_big = [i for i in sizes["imgs"]
               if i["natural"][0] > i["area"] + 1 or i["shown"][1] > HEIGHT]
    assert not too_big, (f"{len(too_big)} of {len(sizes['imgs'])} images do not fit "
                         f"(natural w×h, shown w×h, output area width): {too_big}")
