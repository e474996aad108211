"""Charts as inline SVG, drawn on the server: no script, no network, nothing to vendor.

One module per kind (`line`, `columns`, `hbars`, `intervals`), all on `frame`'s scales and
text. Each returns markup that names what it shows (`role="img"` with an `aria-label`); the
page puts the same numbers in a real table beside it.
"""
