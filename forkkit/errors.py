"""The one exception type the command line turns into a one-line error."""


class ForkKitError(Exception):
    """A failure the user can act on; its message is shown as a single line, no traceback."""
