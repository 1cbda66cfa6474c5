"""A JSON-lines writer that rolls to a new part file every ``lines_per_file`` lines."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import BinaryIO

# Lines are handled as ``str`` and encoded once per flush. A line that must carry invalid UTF-8
# holds its bad bytes as lone surrogates (``bytes.decode(errors="surrogateescape")``), which
# this codec turns back into exactly those bytes; generated text never has lone surrogates.
_ERRORS = "surrogateescape"
_SLICE = 256


class RollingWriter:
    """Buffered writer of ``part-NNNNN.jsonl`` files in one folder; memory is one buffer."""

    def __init__(
        self,
        folder: Path,
        lines_per_file: int,
        buffer_lines: int = 8_192,
        single_file: str | None = None,
    ) -> None:
        """Write into ``folder``; ``single_file`` names the one file to write instead of parts."""
        if lines_per_file < 1:
            raise ValueError(f"lines_per_file must be >= 1, got {lines_per_file}")
        self.folder = folder
        self.lines_per_file = lines_per_file
        self._buffer_lines = buffer_lines
        self._buf: list[str] = []
        self._file: BinaryIO | None = None
        self._part = -1
        self._in_part = 0
        self.files: list[tuple[str, int]] = []
        """(file name, line count) of every part written so far."""
        self.total = 0
        self._single = single_file
        folder.mkdir(parents=True, exist_ok=True)
        if single_file is not None:
            self.lines_per_file = 2**62  # never roll
            self._roll()  # the file exists even when no line is written

    @staticmethod
    def part_name(index: int) -> str:
        """File name of part ``index``."""
        return f"part-{index:05d}.jsonl"

    def add(self, line: str) -> tuple[str, int]:
        """Queue one line (without its newline); return its (file name, 1-based line number)."""
        return self.extend([line])[0]

    def extend(self, lines: list[str]) -> list[tuple[str, int]]:
        """Queue ``lines``; return the (file name, 1-based line number) of each."""
        located: list[tuple[str, int]] = []
        i = 0
        while i < len(lines):
            if self._file is None or self._in_part >= self.lines_per_file:
                self._roll()
            take = min(len(lines) - i, self.lines_per_file - self._in_part)
            name = self.files[-1][0]
            first = self._in_part + 1
            self._buf.extend(lines[i : i + take])
            self._in_part += take
            self.total += take
            self.files[-1] = (name, self._in_part)
            located.extend((name, k) for k in range(first, first + take))
            if len(self._buf) >= self._buffer_lines:
                self._flush()
            i += take
        return located

    def _roll(self) -> None:
        self._flush()
        if self._file is not None:
            self._file.close()
        self._part += 1
        self._in_part = 0
        name = self._single or self.part_name(self._part)
        self._file = (self.folder / name).open("wb")
        self.files.append((name, 0))

    def _flush(self) -> None:
        if self._buf and self._file is not None:
            # In small slices: one emoji makes a joined str 4 bytes per character, so joining
            # the whole buffer at once would cost several times its size at peak.
            for i in range(0, len(self._buf), _SLICE):
                part = self._buf[i : i + _SLICE]
                part.append("")  # so the join ends the last line with a newline too
                self._file.write("\n".join(part).encode("utf-8", _ERRORS))
            self._buf.clear()

    def close(self) -> None:
        """Flush and close the current part."""
        self._flush()
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> RollingWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
