"""The theme's stylesheet keeps only the icon rules of the icons the site shows (vendor_assets.py)."""
from __future__ import annotations

from pathlib import Path

import pydata_sphinx_theme

from course_book import vendor_assets

THEME_CSS = Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme" / "static" / "styles" \
    / "pydata-sphinx-theme.css"


def test_unused_icon_rules_go_and_used_selectors_stay() -> None:
    css = ('.a{color:red}.fa-bars:before,.fa-navicon:before{content:"\\f0c9"}'
           '.fa-xmark:before{content:"\\f00d"}.fa-moon:before{content:"\\f186"}.b{margin:0}')
    trimmed = vendor_assets.without_unused_icon_rules(css, {"fa-bars", "fa-moon"})
    assert trimmed == '.a{color:red}.fa-bars:before{content:"\\f0c9"}.fa-moon:before{content:"\\f186"}.b{margin:0}'
    assert vendor_assets.without_unused_icon_rules(css, set()) == ".a{color:red}.b{margin:0}"


def test_the_installed_theme_stylesheet_shrinks_and_keeps_what_is_used() -> None:
    css = THEME_CSS.read_text(encoding="utf-8")
    catalogue = vendor_assets.icon_catalogue(css)
    assert len(catalogue) > 1000, "the theme no longer carries Font Awesome's catalogue: is the trim still needed?"
    used = {"fa-bars", "fa-magnifying-glass", "fa-github", "fa-circle-half-stroke", "fa-solid"}
    trimmed = vendor_assets.without_unused_icon_rules(css, used)
    kept = vendor_assets.icon_catalogue(trimmed)
    assert set(kept) == used & set(catalogue) and all(kept[n] == catalogue[n] for n in kept)
    assert len(trimmed) < len(css) - 60_000
    # Everything but the icon catalogue is untouched.
    assert vendor_assets.CATALOGUE_RULE.sub("", trimmed) == vendor_assets.CATALOGUE_RULE.sub("", css)
