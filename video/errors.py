"""The one exception type of the `video` package."""


class VideoError(Exception):
    """Input or output that cannot be handled; the message is one line saying why."""
