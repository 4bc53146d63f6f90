"""Which files of a folder are read, and what is skipped and why.

A folder is searched recursively. Read: the regular files (after following symbolic links) whose name ends
with one of ``IMAGE_EXTENSIONS`` in any case, in sorted path order. Names starting with "." (hidden files,
``.DS_Store``, ``.ipynb_checkpoints``) are ignored. Symbolic links to folders are followed (data sets are
often linked in), but a folder is read once: a link back to a folder already read (a loop such as
``sub/up -> ..``) is not entered, or every image would be counted again at each level.

Nothing else is dropped in silence: one warning per kind says how many entries were skipped, with an
example: files that are not images, entries that are not regular files (named pipes, sockets, devices:
opening a pipe blocks for ever and /dev/zero never ends), broken symbolic links, folders reached a second
time, folders that cannot be listed. A folder without a single image is an error that says what it holds.
"""
from __future__ import annotations

import os
import stat
import warnings
from collections import defaultdict
from pathlib import Path

from ..errors import GenmetricsError

# pytorch-fid's IMAGE_EXTENSIONS (pytorch_fid/fid_score.py: bmp jpg jpeg pgm png ppm tif tiff webp), plus
# .pbm and .pnm, the other netpbm names PIL's PpmImagePlugin registers (.pfm is 32-bit float: no 8-bit scale)
IMAGE_EXTENSIONS = (".bmp", ".jpeg", ".jpg", ".pbm", ".pgm", ".png", ".pnm", ".ppm", ".tif", ".tiff", ".webp")

_SPECIAL_KINDS = ((stat.S_ISFIFO, "named pipe"), (stat.S_ISSOCK, "socket"),
                  (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"))

# kind of skipped entry -> (its name for one, for several); the order in which they are reported
_SKIP_NAMES = {
    "other": ("file that is not an image", "files that are not images"),
    "special": ("entry that is not a regular file", "entries that are not regular files"),
    "broken": ("broken symbolic link", "broken symbolic links"),
    "again": ("folder reached a second time through a symbolic link (a link loop, or two links to one folder)",
              "folders reached a second time through symbolic links (link loops, or two links to one folder)"),
    "unlisted": ("folder that cannot be listed", "folders that cannot be listed"),
}


def special_kind(mode: int) -> str:
    """What a stat mode that is neither a regular file nor a folder is, in words."""
    return next((kind for test, kind in _SPECIAL_KINDS if test(mode)), "special file")


def not_regular(path: Path) -> str | None:
    """None when ``path`` is (or links to) a regular file; else what it is, in words."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        return "broken symbolic link" if os.path.islink(path) else f"unreadable entry ({exc.strerror})"
    if stat.S_ISREG(mode):
        return None
    return "folder" if stat.S_ISDIR(mode) else special_kind(mode)


def skipped_phrase(kind: str, count: int, example: str) -> str:
    """``skipped 1 broken symbolic link: y.png`` / ``skipped 3 broken symbolic links, e.g. y.png``."""
    one, many = _SKIP_NAMES[kind]
    return f"skipped 1 {one}: {example}" if count == 1 else f"skipped {count} {many}, e.g. {example}"


class _Scan:
    """The result of walking a folder: image paths (relative, POSIX) and the skipped entries by kind."""

    def __init__(self):
        self.images, self.hidden = [], []
        self.skipped = defaultdict(list)

    def walk(self, root: Path) -> None:
        top = os.stat(root)
        visited = {(top.st_dev, top.st_ino)}
        pending = [(str(root), "")]  # (folder on disk, its path relative to root with a trailing "/")
        while pending:
            folder, relative = pending.pop()
            try:
                with os.scandir(folder) as listing:
                    entries = sorted(listing, key=lambda e: e.name)
            except OSError as exc:
                if not relative:
                    raise GenmetricsError(f"{root}: cannot list the folder ({exc.strerror})") from None
                self.skipped["unlisted"].append(f"{relative.rstrip('/')} ({exc.strerror})")
                continue
            folders = []
            for entry in entries:
                name = relative + entry.name
                if entry.name.startswith("."):
                    self.hidden.append(name)
                    continue
                # d_type answers for plain files and folders without a stat call; links and the rest are stat'ed
                if entry.is_file(follow_symlinks=False):
                    self._file(name)
                    continue
                try:
                    info = entry.stat()  # follows links
                except OSError:  # dangling, or a link loop such as a -> a
                    self.skipped["broken"].append(name)
                    continue
                if stat.S_ISDIR(info.st_mode):
                    identity = (info.st_dev, info.st_ino)
                    if identity in visited:
                        target = f" -> {os.readlink(entry.path)}" if entry.is_symlink() else ""
                        self.skipped["again"].append(name + target)
                    else:
                        visited.add(identity)
                        folders.append((entry.path, name + "/"))
                elif stat.S_ISREG(info.st_mode):
                    self._file(name)
                else:
                    self.skipped["special"].append(f"{name} ({special_kind(info.st_mode)})")
            pending.extend(reversed(folders))  # depth first in sorted order: the first path to a folder wins

    def _file(self, name: str) -> None:
        if name.lower().endswith(IMAGE_EXTENSIONS):
            self.images.append(name)
        else:
            self.skipped["other"].append(name)

    def phrases(self, kinds) -> list[str]:
        return [skipped_phrase(kind, len(self.skipped[kind]), self.skipped[kind][0])
                for kind in kinds if self.skipped[kind]]


def image_files(root: Path) -> list[str]:
    """The images of folder ``root`` as sorted POSIX paths relative to it; warns of what it skips."""
    scan = _Scan()
    scan.walk(root)
    if scan.images:
        for kind in _SKIP_NAMES:
            for phrase in scan.phrases([kind]):
                reason = f" (accepted extensions: {', '.join(IMAGE_EXTENSIONS)}, any case)" if kind == "other" else ""
                warnings.warn(f"{root}: {phrase}{reason}", stacklevel=3)
        return sorted(scan.images)
    others = scan.skipped["other"]
    if not others and not scan.hidden and not any(scan.skipped.values()):
        raise GenmetricsError(f"{root} is an empty folder: put the images to evaluate in it")
    held = [f"it holds {len(others)} other file(s) such as {others[0]!r}"] if others else []
    held += scan.phrases(k for k in _SKIP_NAMES if k != "other")
    if scan.hidden:
        held.append(f"{len(scan.hidden)} hidden entr{'y' if len(scan.hidden) == 1 else 'ies'} such as "
                    f"{scan.hidden[0]!r} (names starting with '.' are ignored)")
    raise GenmetricsError(f"no images found in {root}: {'; '.join(held)}; accepted extensions are "
                          f"{', '.join(IMAGE_EXTENSIONS)} (any case)")
