"""The one exception type for user mistakes.

A ``GenmetricsError`` means the input or an option is wrong, and its message says which file or
option and how to fix it. The CLI prints it as one line and exits with code 2. Anything else that
escapes is a bug and stays a traceback.
"""


class GenmetricsError(Exception):
    """A user-facing error: bad input, bad option, missing weights."""
