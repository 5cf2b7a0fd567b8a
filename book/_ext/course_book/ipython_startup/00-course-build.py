# Loaded by notebook kernels started by the book build only (IPYTHONDIR set by course_book).
# Renders plotly figures as HTML that expects plotly.js to be on the page already.
try:
    import plotly.io as _pio
    from plotly.io._base_renderers import HtmlRenderer as _HtmlRenderer

    _pio.renderers["course_html"] = _HtmlRenderer(include_plotlyjs=False)
    _pio.renderers.default = "course_html"
except ImportError:  # a notebook without plotly
    pass
