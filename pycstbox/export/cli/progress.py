"""A one-line progress report on a terminal: events read, rate, position in the window.

::

    progress = Progress(start, end)          # silent unless stderr is a terminal
    progress.update(count, event_timestamp)  # cheap: redraws at most every 0.5 s
    progress.finish(count)                   # clears the line

Nothing at all is written when the stream is not a terminal (cron, pipes, logs).
"""

import sys
import time

INTERVAL = 0.5


class Progress:
    def __init__(self, start=None, end=None, stream=None, enabled=None, clock=time.monotonic):
        self._stream = stream if stream is not None else sys.stderr
        if enabled is None:
            try:
                enabled = self._stream.isatty()
            except (AttributeError, ValueError):
                enabled = False
        self.enabled = enabled
        self._start, self._end = start, end
        self._clock = clock
        self._t0 = clock()
        self._next = self._t0 + INTERVAL
        self._width = 0

    def line(self, count, position=None):
        """The text shown for ``count`` events read, the last one at ``position``."""
        elapsed = max(self._clock() - self._t0, 1e-9)
        text = '%s events, %s/s' % (format(count, ','), format(int(count / elapsed), ','))
        if position is not None:
            text += ', at %s UTC' % position.strftime('%Y-%m-%d %H:%M:%S')
            if self._start is not None and self._end is not None and self._end > self._start:
                done = (position - self._start) / (self._end - self._start)
                text += ' (%d%%)' % max(0, min(100, int(done * 100)))
        return text

    def update(self, count, position=None):
        """Redraw the line if enough time passed since the last one."""
        if not self.enabled or self._clock() < self._next:
            return
        self._next = self._clock() + INTERVAL
        self._draw(self.line(count, position))

    def show(self, text):
        """Redraw the line with ``text`` if enough time passed (any long work, e.g. audit)."""
        if not self.enabled or self._clock() < self._next:
            return
        self._next = self._clock() + INTERVAL
        self._draw(text)

    def _draw(self, text):
        pad = max(0, self._width - len(text))
        self._stream.write('\r' + text + ' ' * pad)
        self._stream.flush()
        self._width = len(text)

    def finish(self):
        """Erase the line (the caller reports the result)."""
        if self.enabled and self._width:
            self._stream.write('\r' + ' ' * self._width + '\r')
            self._stream.flush()
            self._width = 0
