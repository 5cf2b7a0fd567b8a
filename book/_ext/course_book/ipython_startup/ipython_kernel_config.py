# Kernel configuration for notebook kernels started by the book build only (IPYTHONDIR set by
# course_book). The build's kernels talk over loopback TCP; ipykernel logs a warning about that at
# every start, which would drown the build log. Errors are still logged.
c = get_config()  # noqa: F821 - provided by IPython's config loader
c.IPKernelApp.log_level = "ERROR"
